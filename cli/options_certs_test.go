package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// HTTP/2 and HTTP/1.1 (as client-go does) gets, with and without
// --client-ca-file; a client offering HTTP/2 alone is refused unless
// --enable-http2.
func TestWebhookServerProtocols(t *testing.T) {
	ca, err := certs.NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair := signedPair(t, ca, "127.0.0.1")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// The API server's client certificate, signed by the same CA.
	clientPair := signedPair(t, ca, "apiserver")
	both := []string{"h2", "http/1.1"}
	tests := []struct {
		name   string
		args   []string
		offers []string
		want   string // "" for a refused handshake
	}{
		{"HTTP/1.1 by default", nil, both, "http/1.1"},
		{"HTTP/1.1 with client certificates", []string{"--client-ca-file=" + caFile}, both, "http/1.1"},
		{"HTTP/2 alone refused", nil, []string{"h2"}, ""},
		{"HTTP/2 when enabled", []string{"--enable-http2"}, both, "h2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := parseCertFlags(t, tc.args)
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			addr := startWebhookServer(t, o.tlsOptions(servingPair{pair}))
			cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: tc.offers, Certificates: []tls.Certificate{clientPair}}
			conn, err := tls.Dial("tcp", addr, cfg)
			if tc.want == "" {
				if err == nil {
					conn.Close()
					t.Fatalf("a client offering only %v was served", tc.offers)
				}
				return
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

// signedPair is a certificate for host signed by ca, with its key.
func signedPair(t *testing.T, ca *certs.KeyPair, host string) tls.Certificate {
	t.Helper()
	kp, err := certs.NewServing(ca, []string{host}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// startWebhookServer runs controller-runtime's webhook server with opts on
// a free loopback port until the test ends, and returns its address once
// it accepts connections.
func startWebhookServer(t *testing.T, opts []func(*tls.Config)) string {
	t.Helper()
	for range 5 { // another process may take the port between Close and Start
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		server := ctrlwebhook.NewServer(ctrlwebhook.Options{Host: "127.0.0.1", Port: port, TLSOpts: opts})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- server.Start(ctx) }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case err := <-done:
				cancel()
				t.Logf("webhook server on port %d: %v", port, err)
				deadline = time.Time{} // try another port
				continue
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Cleanup(func() { cancel(); <-done })
				return addr
			}
		}
		cancel()
	}
	t.Fatal("the webhook server did not start")
	return ""
}
