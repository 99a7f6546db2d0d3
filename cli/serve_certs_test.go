package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestCertOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		hosts   []string
	}{
		{name: "files by default", args: nil},
		{name: "files without a directory", args: []string{"--cert-dir="}, wantErr: "--cert-dir"},
		{name: "unknown mode", args: []string{"--cert-mode=magic"}, wantErr: "--cert-mode must be"},
		{
			name:  "self-managed names the service",
			args:  []string{"--cert-mode=self-managed", "--cert-namespace=gg", "--service-name=hook", "--cert-host=127.0.0.1"},
			hosts: []string{"hook.gg.svc", "hook.gg.svc.cluster.local", "hook.gg", "hook", "127.0.0.1"},
		},
		{name: "self-managed lifetime too short", args: []string{"--cert-mode=self-managed", "--cert-lifetime=1s"}, wantErr: "lifetime"},
		{name: "self-managed without a secret", args: []string{"--cert-mode=self-managed", "--cert-secret-name="}, wantErr: "secret name"},
		{name: "self-managed without hosts", args: []string{"--cert-mode=self-managed", "--service-name="}, wantErr: "host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := parseCertFlags(t, tc.args)
			err := o.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.wantErr)
			}
			if tc.hosts != nil && !slices.Equal(o.selfManaged().Hosts, tc.hosts) {
				t.Errorf("hosts = %v, want %v", o.selfManaged().Hosts, tc.hosts)
			}
		})
	}
}

// parseCertFlags is certOptions bound to a flag set and parsed from args.
func parseCertFlags(t *testing.T, args []string) *certOptions {
	t.Helper()
	var o certOptions
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &o
}
