package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/gitgate/gitgate/certs"
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
			var o certOptions
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
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

// servingPair is a certificate source for 127.0.0.1 and the CA that signs
// it.
type servingPair struct{ cert tls.Certificate }

func (s servingPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return &s.cert, nil
}
func (servingPair) Start(context.Context) error { return nil }
func (servingPair) Healthy() error              { return nil }

// TestWebhookServerProtocols starts controller-runtime's webhook server,
// as gitgate serve does, and reads which protocol a client offering both
// HTTP/2 and HTTP/1.1 (as the API server's does) gets.
func TestWebhookServerProtocols(t *testing.T) {
	ca, err := certs.NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := certs.NewServing(ca, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"HTTP/1.1 by default", nil, "http/1.1"},
		{"HTTP/2 when enabled", []string{"--enable-http2"}, "h2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o certOptions
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			server := ctrlwebhook.NewServer(ctrlwebhook.Options{Host: "127.0.0.1", Port: port, TLSOpts: o.tlsOptions(servingPair{pair})})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- server.Start(ctx) }()
			t.Cleanup(func() { cancel(); <-done })

			var conn *tls.Conn
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				conn, err = tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
				if err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("TLS to the webhook server: %v", err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().NegotiatedProtocol; got != tc.want {
				t.Errorf("negotiated %q, want %q", got, tc.want)
			}
		})
	}
}
