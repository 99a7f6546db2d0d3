package gitsource

import (
	"errors"
	"strings"
	"testing"
)

func TestCredentialsValidate(t *testing.T) {
	basic := Credentials{UsernameFile: "u", PasswordFile: "p"}
	ssh := Credentials{SSHKeyFile: "k", KnownHostsFile: "kh"}
	tests := []struct {
		name    string
		creds   Credentials
		url     string
		wantErr error  // nil: valid
		wantMsg string // a substring of the error
	}{
		{name: "anonymous https", url: "https://git.example.com/fleet.git"},
		{name: "anonymous http", url: "http://git.example.com/fleet.git"},
		{name: "basic auth over https", creds: basic, url: "https://git.example.com/fleet.git"},
		{name: "basic auth over http", creds: basic, url: "http://git.example.com/fleet.git", wantErr: ErrInsecureHTTP},
		{name: "token over http", creds: Credentials{TokenFile: "t"}, url: "http://git.example.com/fleet.git", wantErr: ErrInsecureHTTP},
		{name: "basic auth over http, allowed", creds: Credentials{UsernameFile: "u", PasswordFile: "p", InsecureHTTP: true}, url: "http://git.example.com/fleet.git"},
		{name: "ssh key over ssh", creds: ssh, url: "ssh://git@git.example.com/fleet.git"},
		{name: "ssh key in scp form", creds: ssh, url: "git@git.example.com:org/fleet.git"},
		{name: "ssh key over https", creds: ssh, url: "https://git.example.com/fleet.git", wantErr: ErrCredentials, wantMsg: "needs an ssh://"},
		{name: "ssh key without known_hosts", creds: Credentials{SSHKeyFile: "k"}, url: "ssh://git@x/y", wantErr: ErrCredentials, wantMsg: "known_hosts"},
		{name: "basic auth and ssh", creds: Credentials{UsernameFile: "u", SSHKeyFile: "k", KnownHostsFile: "kh"}, url: "ssh://git@x/y", wantErr: ErrCredentials, wantMsg: "cannot both be set"},
		{name: "password without username", creds: Credentials{PasswordFile: "p"}, url: "https://x/y", wantErr: ErrCredentials, wantMsg: "needs a username file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.creds.Validate(tc.url)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Validate = %v, want %v mentioning %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}
