package certs

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
)

// KeyPair is a PEM-encoded certificate and its private key.
type KeyPair struct {
	CertPEM, KeyPEM []byte
	Cert            *x509.Certificate
	key             *ecdsa.PrivateKey
}

// NewCA creates a self-signed CA with an ECDSA P-256 key.
func NewCA(commonName string, validity time.Duration) (*KeyPair, error) {
	return newCAAt(commonName, time.Now(), validity)
}

func newCAAt(commonName string, now time.Time, validity time.Duration) (*KeyPair, error) {
	tmpl, err := template(commonName, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return sign(tmpl, nil)
}

// NewServing creates a serving certificate for the DNS names and IPs in
// hosts, signed by ca.
func NewServing(ca *KeyPair, hosts []string, validity time.Duration) (*KeyPair, error) {
	return newServingAt(ca, hosts, time.Now(), validity)
}

func newServingAt(ca *KeyPair, hosts []string, now time.Time, validity time.Duration) (*KeyPair, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("a serving certificate needs at least one host")
	}
	tmpl, err := template(hosts[0], now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return sign(tmpl, ca)
}

// NewClient creates a client certificate for commonName, signed by ca, as
// the API server presents to webhooks that demand one.
func NewClient(ca *KeyPair, commonName string, validity time.Duration) (*KeyPair, error) {
	tmpl, err := template(commonName, time.Now(), validity)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return sign(tmpl, ca)
}

func template(cn string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"gitgate"}},
		// Back-date a little: clocks across a cluster disagree. A tenth of
		// the validity at most, so renewal at two thirds stays ahead of now.
		NotBefore: now.Add(-min(5*time.Minute, validity/10)),
		NotAfter:  now.Add(validity),
	}, nil
}

func sign(tmpl *x509.Certificate, ca *KeyPair) (*KeyPair, error) {
	key, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return &KeyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  keyPEM,
		Cert:    cert,
		key:     key,
	}, nil
}

// ParseKeyPair reads back a KeyPair from PEM, e.g. a CA stored in a Secret.
func ParseKeyPair(certPEM, keyPEM []byte) (*KeyPair, error) {
	cert, err := pki.DecodeX509CertificateBytes(certPEM)
	if err != nil {
		return nil, fmt.Errorf("decode certificate: %w", err)
	}
	signer, err := pki.DecodePrivateKeyBytes(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("decode key: %w", err)
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ECDSA", signer)
	}
	return &KeyPair{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert, key: key}, nil
}

// WriteDir writes serving as tls.crt/tls.key and ca as ca.crt into dir,
// the layout NewFileSource reads. Each file is replaced atomically so a
// watcher never reads half a certificate.
func WriteDir(dir string, serving, ca *KeyPair) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{CAFile, ca.CertPEM, 0o644},
		{KeyFile, serving.KeyPEM, 0o600},
		{CertFile, serving.CertPEM, 0o644},
	}
	for _, f := range files {
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			return err
		}
	}
	return nil
}
