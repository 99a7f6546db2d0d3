package helmchart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Fetcher fetches charts from Helm repositories and OCI registries with
// the credentials their objects name, read through Reader one Secret at a
// time by name. It never logs, and never puts a credential in an error.
type Fetcher struct {
	// Reader reads the Secrets a repository names (secretRef,
	// certSecretRef).
	Reader client.Reader
	// Transport carries every request; nil means a clone of
	// http.DefaultTransport. A certSecretRef's TLS settings apply to an
	// *http.Transport only.
	Transport http.RoundTripper
	// Timeout bounds each request; zero means a minute.
	Timeout time.Duration
}

// creds are what a repository's Secrets give a request.
type creds struct {
	username, password string
	// docker is a .dockerconfigjson's auths, by registry host.
	docker map[string]authn.AuthConfig
	tls    *tls.Config
}

// errNoReader: a repository names a Secret and the Fetcher has no reader.
var errNoReader = errors.New("no reader for Secrets")

// secret reads one Secret by name.
func (f *Fetcher) secret(ctx context.Context, ns string, ref *meta.LocalObjectReference) (*corev1.Secret, error) {
	if f.Reader == nil {
		return nil, errNoReader
	}
	s := &corev1.Secret{}
	if err := f.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, s); err != nil {
		return nil, fmt.Errorf("read Secret %s/%s: %w", ns, ref.Name, err)
	}
	return s, nil
}

// credsFor reads secretRef (username and password, a .dockerconfigjson,
// or the deprecated certFile, keyFile and caFile) and certSecretRef
// (tls.crt, tls.key, ca.crt), as source-controller's getter options do.
func (f *Fetcher) credsFor(ctx context.Context, ns string, secretRef, certSecretRef *meta.LocalObjectReference) (*creds, error) {
	c := &creds{}
	if secretRef != nil {
		s, err := f.secret(ctx, ns, secretRef)
		if err != nil {
			return nil, err
		}
		c.username, c.password = string(s.Data["username"]), string(s.Data["password"])
		if raw, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
			if c.docker, err = dockerAuths(raw); err != nil {
				return nil, fmt.Errorf("Secret %s/%s: %w", ns, secretRef.Name, err)
			}
		}
		if c.tls, err = tlsConfig(s.Data["certFile"], s.Data["keyFile"], s.Data["caFile"]); err != nil {
			return nil, fmt.Errorf("Secret %s/%s: %w", ns, secretRef.Name, err)
		}
	}
	if certSecretRef != nil {
		s, err := f.secret(ctx, ns, certSecretRef)
		if err != nil {
			return nil, err
		}
		if c.tls, err = tlsConfig(s.Data["tls.crt"], s.Data["tls.key"], s.Data["ca.crt"]); err != nil {
			return nil, fmt.Errorf("Secret %s/%s: %w", ns, certSecretRef.Name, err)
		}
	}
	return c, nil
}

// tlsConfig builds a client TLS configuration; nil when none is given.
// Errors never quote the key material.
func tlsConfig(cert, key, ca []byte) (*tls.Config, error) {
	if len(cert) == 0 && len(key) == 0 && len(ca) == 0 {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cert) > 0 || len(key) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, errors.New("invalid client certificate or key")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if len(ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("invalid CA certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// dockerAuths reads a .dockerconfigjson's auths by registry host.
func dockerAuths(raw []byte) (map[string]authn.AuthConfig, error) {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, errors.New("invalid .dockerconfigjson")
	}
	out := map[string]authn.AuthConfig{}
	for host, a := range cfg.Auths {
		if a.Username == "" && a.Auth != "" {
			if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				a.Username, a.Password, _ = strings.Cut(string(dec), ":")
			}
		}
		host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
		host, _, _ = strings.Cut(host, "/")
		out[host] = a
	}
	return out, nil
}

// authenticator is what an OCI request to registry sends: the
// .dockerconfigjson entry of that host, else username and password,
// else nothing.
func (c *creds) authenticator(registry string) authn.Authenticator {
	if a, ok := c.docker[registry]; ok {
		return authn.FromConfig(a)
	}
	if c.username != "" || c.password != "" {
		return &authn.Basic{Username: c.username, Password: c.password}
	}
	return authn.Anonymous
}

// client is an HTTP client with the creds' TLS settings.
func (f *Fetcher) client(c *creds) *http.Client {
	rt := f.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	if t, ok := rt.(*http.Transport); ok && c != nil && c.tls != nil {
		t = t.Clone()
		t.TLSClientConfig = c.tls
		rt = t
	}
	timeout := f.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	return &http.Client{Transport: rt, Timeout: timeout}
}
