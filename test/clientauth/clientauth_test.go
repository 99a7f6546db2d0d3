// Package clientauth proves --client-ca-file against the real API server:
// configured with a client certificate for webhooks (its admission-control
// config file), the API server reaches gitgate and gets its verdicts, while
// a client without a certificate signed by that CA, or with another CA's,
// cannot even finish the TLS handshake, so it cannot forge AdmissionReviews
// that would write audit records and Events naming anyone.
package clientauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/certs"
	"github.com/gitgate/gitgate/test/harness"
)

// TestMain removes the gitgate binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveGitgateBuild()
	os.Exit(code)
}

func TestAPIServerAuthenticatesWithAClientCertificate(t *testing.T) {
	log.SetOutput(io.Discard) // gittestserver logs every Git request
	dir := t.TempDir()
	apiServerCA, apiServerCert := newClient(t, "kube-apiserver")
	_, strangerCert := newClient(t, "mallory")
	caFile := filepath.Join(dir, "client-ca.pem")
	write(t, caFile, string(apiServerCA.CertPEM))
	admissionConfig := writeAdmissionConfig(t, dir, apiServerCert)

	stack, err := harness.StartStack(context.Background(), harness.StackOptions{
		Fixture:       filepath.Join(harness.RepoRoot(), "examples", "shop"),
		APIServerArgs: map[string][]string{"admission-control-config-file": {admissionConfig}},
		GitgateArgs:   []string{"--client-ca-file", caFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Stop()
	defer func() {
		if t.Failed() {
			t.Logf("gitgate logs:\n%s", stack.Gitgate.Logs())
		}
	}()
	k := stack.Kubectl
	if r := k.Run("", "apply", "-f", filepath.Join(harness.RepoRoot(), "examples", "shop"), "--as", harness.Agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	// The API server presents its certificate: gitgate answers, and denies.
	r := k.Run("", "-n", "shop", "set", "image", "deployment/web", "app=nginx:evil", "--as", harness.Person)
	if !r.Failed() || !strings.Contains(r.Stderr, `admission webhook "validate.gitgate.dev" denied the request`) {
		t.Fatalf("%s: want gitgate's denial, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}

	for name, cert := range map[string]*certs.KeyPair{"no client certificate": nil, "a certificate of another CA": strangerCert} {
		t.Run(name, func(t *testing.T) {
			status, err := post(stack.Gitgate, cert)
			if err == nil {
				t.Fatalf("POST to the webhook answered %d, want a failed TLS handshake", status)
			}
			t.Logf("refused: %v", err)
		})
	}
	t.Run("the API server's certificate", func(t *testing.T) {
		if status, err := post(stack.Gitgate, apiServerCert); err != nil || status == 0 {
			t.Fatalf("POST with the API server's certificate: %d, %v; want an answer", status, err)
		}
	})
}

// newClient is a CA and a client certificate it signed.
func newClient(t *testing.T, cn string) (ca, client *certs.KeyPair) {
	t.Helper()
	ca, err := certs.NewCA(cn+"-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if client, err = certs.NewClient(ca, cn, time.Hour); err != nil {
		t.Fatal(err)
	}
	return ca, client
}

// writeAdmissionConfig gives the API server a client certificate for every
// webhook, as its --admission-control-config-file documents.
func writeAdmissionConfig(t *testing.T, dir string, client *certs.KeyPair) string {
	t.Helper()
	kubeconfig := filepath.Join(dir, "webhook-kubeconfig.yaml")
	write(t, kubeconfig, `apiVersion: v1
kind: Config
users:
- name: "*"
  user:
    client-certificate-data: `+base64.StdEncoding.EncodeToString(client.CertPEM)+`
    client-key-data: `+base64.StdEncoding.EncodeToString(client.KeyPEM)+`
`)
	config := filepath.Join(dir, "admission.yaml")
	write(t, config, `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: `+kubeconfig+`
`)
	return config
}

// post sends an empty body to the webhook, with cert as the client
// certificate when set.
func post(g *harness.Gitgate, cert *certs.KeyPair) (int, error) {
	roots := x509.NewCertPool()
	roots.AddCert(g.CA.Cert)
	tlsConfig := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
		if err != nil {
			return 0, err
		}
		// Present it whatever CAs the server names, as a forger would.
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	resp, err := client.Post(g.URL(), "application/json", strings.NewReader("{}"))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
