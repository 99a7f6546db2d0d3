package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// TestWarnUnverified: every source whose commits are not verified is
// named in one warning at start, with how to verify it; verified sources
// are not.
func TestWarnUnverified(t *testing.T) {
	tests := []struct {
		name    string
		sources []GitSource
		want    []string // source=toVerify of each warning
	}{
		{"sources file, one unverified", []GitSource{
			{Name: "fleet", URL: "https://git.example.com/fleet.git"},
			{Name: "platform", URL: "https://git.example.com/platform.git", VerifyKeyring: "/k.asc"},
			{Name: "ssh-signed", URL: "https://git.example.com/s.git", VerifySSH: "/allowed"},
		}, []string{"fleet=verify: {pgpKeyring: ..., sshAllowedSigners: ...} in --sources-file"}},
		{"repo-url without verify flags, credentials redacted", []GitSource{{URL: "https://user:tok3n@git.example.com/fleet.git"}},
			[]string{"https://git.example.com/fleet.git=--verify-commits or --verify-commits-ssh"}},
		{"all verified", []GitSource{{URL: "https://git.example.com/fleet.git", VerifyKeyring: "/k.asc"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			log := funcr.NewJSON(func(obj string) {
				var rec struct{ Msg, Source, ToVerify string }
				if err := json.Unmarshal([]byte(obj), &rec); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(rec.Msg, "WARNING: commit signatures") {
					t.Errorf("message %q", rec.Msg)
				}
				if strings.Contains(obj, "tok3n") {
					t.Errorf("the warning repeats a credential: %s", obj)
				}
				got = append(got, rec.Source+"="+rec.ToVerify)
			}, funcr.Options{})
			warnUnverified(log, tc.sources)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("warnings = %q, want %q", got, tc.want)
			}
		})
	}
}
