package server

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/certs"
)

// certSource gives the webhook server its certificate and readiness its
// health; it runs on every replica.
type certSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Start(context.Context) error
	Healthy() error
}

// newCertSource builds the certificate source c describes: mounted files,
// or a self-managed CA and serving certificate in a Secret.
func newCertSource(c CertConfig, cfg *rest.Config, log logr.Logger) (certSource, error) {
	if c.Mode != CertModeSelfManaged {
		return certs.NewFileSource(c.Dir)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("certificate client: %w", err)
	}
	sm := c.SelfManaged
	log.Info("self-managed certificates", "secret", sm.Namespace+"/"+sm.SecretName, "webhookConfiguration", sm.WebhookName, "hosts", sm.Hosts, "lifetime", sm.Lifetime.String())
	return certs.NewSelfManaged(client, sm, log)
}

// tlsOptions configure the webhook server: TLS 1.2 or newer, the
// certificate from cert, HTTP/1.1 only unless EnableHTTP2, and with
// ClientCAs a verified client certificate.
func tlsOptions(c CertConfig, cert certSource) []func(*tls.Config) {
	opts := []func(*tls.Config){certs.TLSConfig(cert.GetCertificate)}
	if !c.EnableHTTP2 {
		opts = append(opts, certs.HTTP1Only)
	}
	if c.ClientCAs != nil {
		opts = append(opts, certs.RequireClientCert(c.ClientCAs))
	}
	return opts
}
