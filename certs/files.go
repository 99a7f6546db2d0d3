package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// File names inside a certificate directory, as cert-manager and
// kubernetes.io/tls Secrets lay them out.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
	CAFile   = "ca.crt"
)

// FileSource serves the key pair in a directory and reloads it when the
// files change, through controller-runtime's certwatcher.
type FileSource struct {
	watcher *certwatcher.CertWatcher
}

// NewFileSource loads tls.crt and tls.key from dir. It fails if they cannot
// be read now: a webhook with no certificate cannot serve at all.
func NewFileSource(dir string) (*FileSource, error) {
	w, err := certwatcher.New(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("load serving certificate from %s: %w", dir, err)
	}
	w.RegisterCallback(func(c tls.Certificate) {
		if leaf, err := leafOf(&c); err == nil {
			certificateExpiry.Set(float64(leaf.NotAfter.Unix()))
		}
	})
	return &FileSource{watcher: w}, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (s *FileSource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.watcher.GetCertificate(hello)
}

// Start watches the files until ctx ends (manager.Runnable).
func (s *FileSource) Start(ctx context.Context) error { return s.watcher.Start(ctx) }

// NeedLeaderElection is false: every replica serves.
func (s *FileSource) NeedLeaderElection() bool { return false }

// ErrNoCertificate means no serving certificate is loaded.
var ErrNoCertificate = errors.New("no serving certificate loaded")

// Healthy reports an error when the served certificate is missing or
// outside its validity period; readiness follows it.
func (s *FileSource) Healthy() error {
	cert, err := s.watcher.GetCertificate(nil)
	if err != nil {
		return err
	}
	return checkValidity(cert, time.Now())
}

func checkValidity(cert *tls.Certificate, now time.Time) error {
	if cert == nil || len(cert.Certificate) == 0 {
		return ErrNoCertificate
	}
	leaf, err := leafOf(cert)
	if err != nil {
		return err
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("serving certificate valid from %s to %s, not now", leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
	}
	return nil
}

func leafOf(cert *tls.Certificate) (*x509.Certificate, error) {
	if cert.Leaf != nil {
		return cert.Leaf, nil
	}
	if len(cert.Certificate) == 0 {
		return nil, ErrNoCertificate
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse serving certificate: %w", err)
	}
	return leaf, nil
}

// TLSConfig sets what gitgate requires of every TLS connection: TLS 1.2 or
// newer, and certificates from source.
func TLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) func(*tls.Config) {
	return func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		c.GetCertificate = getCertificate
	}
}

// HTTP1Only makes a server offer only HTTP/1.1 in its TLS handshake. An
// admission webhook gains nothing from HTTP/2: the API server calls a
// webhook behind a Service (or any URL but loopback) over HTTP/1.1 anyway,
// from a pool of connections. HTTP/2's stream handling is where the Rapid
// Reset (CVE-2023-44487) and CONTINUATION flood (CVE-2023-45288) attacks
// were, open to whoever else reaches the port.
func HTTP1Only(c *tls.Config) {
	c.NextProtos = []string{"http/1.1"}
}

// RequireClientCert makes a server accept only clients presenting a
// certificate signed by one of cas.
func RequireClientCert(cas *x509.CertPool) func(*tls.Config) {
	return func(c *tls.Config) {
		c.ClientCAs = cas
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
}

// LoadCAPool reads a PEM bundle of CA certificates; it fails when the file
// holds none.
func LoadCAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
