package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileSourceReloadsRenewedCertificate is what happens when
// cert-manager renews the mounted Secret: the files change under a running
// server, and new connections get the new certificate with no restart.
func TestFileSourceReloadsRenewedCertificate(t *testing.T) {
	layouts := []struct {
		name  string
		write func(dir string, serving, ca *KeyPair) error
	}{
		{"files replaced by rename", WriteDir},
		// The kubelet updates a Secret volume by writing a new timestamped
		// directory and swapping the ..data symlink; tls.crt links through it.
		{"kubelet secret volume", writeAtomicWriterDir},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testFileSourceReload(t, l.write) })
	}
}

func testFileSourceReload(t *testing.T, write func(dir string, serving, ca *KeyPair) error) {
	dir := t.TempDir()
	ca, err := NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	first, err := NewServing(ca, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(dir, first, ca); err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	go func() { _ = src.Start(ctx) }()
	if err := src.Healthy(); err != nil {
		t.Fatalf("Healthy: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{}
	TLSConfig(src.GetCertificate)(cfg)
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), TLSConfig: cfg, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	if got := servedSerial(t, l.Addr().String(), ca); got != first.Cert.SerialNumber.String() {
		t.Fatalf("served serial %s, want the first certificate's %s", got, first.Cert.SerialNumber)
	}
	renewed, err := NewServing(ca, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(dir, renewed, ca); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for servedSerial(t, l.Addr().String(), ca) != renewed.Cert.SerialNumber.String() {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func servedSerial(t *testing.T, addr string, ca *KeyPair) string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestTLSConfigRefusesOldTLS(t *testing.T) {
	cfg := &tls.Config{}
	TLSConfig(nil)(cfg)
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
}

func TestCheckValidity(t *testing.T) {
	ca, err := NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert *tls.Certificate
		now  time.Time
		ok   bool
	}{
		{"nil", nil, time.Now(), false},
		{"empty", &tls.Certificate{}, time.Now(), false},
		{"valid", &pair, time.Now(), true},
		{"expired", &pair, time.Now().Add(2 * time.Hour), false},
		{"not yet valid", &pair, time.Now().Add(-time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkValidity(tc.cert, tc.now); (err == nil) != tc.ok {
				t.Errorf("checkValidity = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// writeAtomicWriterDir lays out dir as the kubelet's atomic writer does:
// dir/..<timestamp>/tls.crt, dir/..data -> ..<timestamp>, and
// dir/tls.crt -> ..data/tls.crt. A second call swaps ..data and removes
// the old directory.
func writeAtomicWriterDir(dir string, serving, ca *KeyPair) error {
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	ts := fmt.Sprintf("..%d", time.Now().UnixNano())
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{CertFile: serving.CertPEM, KeyFile: serving.KeyPEM, CAFile: ca.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, ts, name), data, 0o600); err != nil {
			return err
		}
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				return err
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}
