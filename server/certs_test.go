package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/gitgate/gitgate/certs"
)

// servingPair is a certificate source for 127.0.0.1 and the CA that signs
// it.
type servingPair struct{ cert tls.Certificate }

func (s servingPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return &s.cert, nil
}
func (servingPair) Start(context.Context) error { return nil }
func (servingPair) Healthy() error              { return nil }

// TestWebhookServerProtocols starts controller-runtime's webhook server,
// as Run does, and reads which protocol a client offering both HTTP/2 and
// HTTP/1.1 (as client-go does) gets, with and without client CAs
// (--client-ca-file); a client offering HTTP/2 alone is refused unless
// EnableHTTP2 (--enable-http2).
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
	clientCAs, err := certs.LoadCAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config CertConfig
		offers []string
		want   string // "" for a refused handshake
	}{
		{"HTTP/1.1 by default", CertConfig{}, both, "http/1.1"},
		{"HTTP/1.1 with client certificates", CertConfig{ClientCAs: clientCAs}, both, "http/1.1"},
		{"HTTP/2 alone refused", CertConfig{}, []string{"h2"}, ""},
		{"HTTP/2 when enabled", CertConfig{EnableHTTP2: true}, both, "h2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startWebhookServer(t, tlsOptions(tc.config, servingPair{pair}))
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
