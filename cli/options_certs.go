package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/certs"
)

// Certificate modes.
const (
	certModeFiles       = "files"
	certModeSelfManaged = "self-managed"
)

// certOptions are the flags that choose where the serving certificate
// comes from: mounted files (cert-manager or any issuer) or self-managed.
type certOptions struct {
	mode        string
	dir         string
	namespace   string
	secretName  string
	webhookName string
	serviceName string
	hosts       []string
	lifetime    time.Duration
	// clientCAFile, when set, makes the webhook demand a client
	// certificate signed by one of its CAs: the API server's.
	clientCAFile string
	clientCAs    *x509.CertPool
	// enableHTTP2 lets the webhook server offer HTTP/2; it offers only
	// HTTP/1.1 by default.
	enableHTTP2 bool
}

func (o *certOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.mode, "cert-mode", certModeFiles, "Where the serving certificate comes from: files (tls.crt and tls.key in --cert-dir, e.g. from cert-manager; reloaded when they change) or self-managed (gitgate issues its own CA, keeps it in a Secret and in the webhook's caBundle, and rotates it).")
	fs.StringVar(&o.dir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "With --cert-mode=files: directory holding tls.crt and tls.key; reloaded when they change.")
	fs.StringVar(&o.namespace, "cert-namespace", defaultNamespace(), "With --cert-mode=self-managed: namespace of the certificate Secret (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
	fs.StringVar(&o.secretName, "cert-secret-name", "gitgate-webhook-tls", "With --cert-mode=self-managed: Secret holding the CA and serving certificate all replicas share.")
	fs.StringVar(&o.webhookName, "webhook-config-name", "gitgate", "With --cert-mode=self-managed: ValidatingWebhookConfiguration whose caBundle gitgate keeps (it never creates it).")
	fs.StringVar(&o.serviceName, "service-name", "gitgate", "With --cert-mode=self-managed: Service in front of gitgate; its in-cluster DNS names go into the serving certificate.")
	fs.StringArrayVar(&o.hosts, "cert-host", nil, "With --cert-mode=self-managed: another DNS name or IP address for the serving certificate; repeatable.")
	fs.StringVar(&o.clientCAFile, "client-ca-file", "", "PEM bundle of CAs; when set, the webhook accepts only TLS clients with a certificate they signed: the API server, configured with a client certificate for webhooks in its admission-control config file. Anyone else cannot reach the handler. Read at start.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "Let the webhook server offer HTTP/2. Off by default, so whoever reaches the port cannot use HTTP/2's stream attacks (Rapid Reset, CONTINUATION flood). The API server calls a webhook behind a Service over HTTP/1.1 either way; only a loopback URL webhook would use HTTP/2.")
	fs.DurationVar(&o.lifetime, "cert-lifetime", 90*24*time.Hour, "With --cert-mode=self-managed: lifetime of the CA and serving certificate; rotation starts at two thirds of it.")
}

// Validate reports every invalid certificate setting at once, and loads
// --client-ca-file.
func (o *certOptions) Validate() error {
	var errs []error
	if o.clientCAFile != "" {
		pool, err := certs.LoadCAPool(o.clientCAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--client-ca-file: %w", err))
		}
		o.clientCAs = pool
	}
	return errors.Join(append(errs, o.validateMode())...)
}

func (o *certOptions) validateMode() error {
	switch o.mode {
	case certModeFiles:
		if o.dir == "" {
			return errors.New("--cert-dir must not be empty")
		}
		return nil
	case certModeSelfManaged:
		if err := o.selfManaged().Validate(); err != nil {
			return fmt.Errorf("--cert-mode=self-managed: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("--cert-mode must be %s or %s, got %q", certModeFiles, certModeSelfManaged, o.mode)
	}
}

func (o *certOptions) selfManaged() certs.SelfManagedOptions {
	var hosts []string
	if o.serviceName != "" {
		svc := o.serviceName + "." + o.namespace
		hosts = append(hosts, svc+".svc", svc+".svc.cluster.local", svc, o.serviceName)
	}
	return certs.SelfManagedOptions{
		Namespace: o.namespace, SecretName: o.secretName, WebhookName: o.webhookName,
		Hosts: append(hosts, o.hosts...), Lifetime: o.lifetime,
	}
}

// tlsOptions configure the webhook server: TLS 1.2 or newer, the
// certificate from cert, HTTP/1.1 only unless --enable-http2, and with
// --client-ca-file a verified client certificate.
func (o *certOptions) tlsOptions(cert certSource) []func(*tls.Config) {
	opts := []func(*tls.Config){certs.TLSConfig(cert.GetCertificate)}
	if !o.enableHTTP2 {
		opts = append(opts, certs.HTTP1Only)
	}
	if o.clientCAs != nil {
		opts = append(opts, certs.RequireClientCert(o.clientCAs))
	}
	return opts
}

// certSource gives the webhook server its certificate and readiness its
// health; it runs on every replica.
type certSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Start(context.Context) error
	Healthy() error
}

// source builds the certificate source the options describe.
func (o *certOptions) source(cfg *rest.Config, log logr.Logger) (certSource, error) {
	if o.mode != certModeSelfManaged {
		return certs.NewFileSource(o.dir)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("certificate client: %w", err)
	}
	sm := o.selfManaged()
	log.Info("self-managed certificates", "secret", sm.Namespace+"/"+sm.SecretName, "webhookConfiguration", sm.WebhookName, "hosts", sm.Hosts, "lifetime", sm.Lifetime.String())
	return certs.NewSelfManaged(client, sm, log)
}
