package cli

import (
	"testing"

	"github.com/gitgate/gitgate/webhook"
)

// TestServeConnectFlag: --connect defaults to deny-people, takes the three
// values and refuses anything else.
func TestServeConnectFlag(t *testing.T) {
	base := []string{"--repo-url", "https://git.example.com/fleet.git", "--branch", "main"}
	for _, tc := range []struct {
		args []string
		want webhook.Connect
		err  []string
	}{
		{args: base, want: webhook.ConnectDenyPeople},
		{args: append(base, "--connect", "judge"), want: webhook.ConnectJudge},
		{args: append(base, "--connect", "allow"), want: webhook.ConnectAllow},
		{args: append(base, "--connect", "deny-people"), want: webhook.ConnectDenyPeople},
		{args: append(base, "--connect", "deny"), err: []string{`--connect: want deny-people, judge or allow, got "deny"`}},
	} {
		o, err := parseServe(t, tc.args...)
		checkParseError(t, err, tc.err, "secret")
		if err == nil && o.cfg.Policy.Connect != tc.want {
			t.Errorf("%v: Policy.Connect = %q, want %q", tc.args, o.cfg.Policy.Connect, tc.want)
		}
	}
}
