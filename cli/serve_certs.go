package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/certs"
	"github.com/gitgate/gitgate/server"
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
	fs.StringVar(&o.mode, "cert-mode", server.CertModeFiles, "Where the serving certificate comes from: files (tls.crt and tls.key in --cert-dir, e.g. from cert-manager; reloaded when they change) or self-managed (gitgate issues its own CA, keeps it in a Secret and in the webhook's caBundle, and rotates it).")
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
	case server.CertModeFiles:
		if o.dir == "" {
			return errors.New("--cert-dir must not be empty")
		}
		return nil
	case server.CertModeSelfManaged:
		if err := o.selfManaged().Validate(); err != nil {
			return fmt.Errorf("--cert-mode=self-managed: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("--cert-mode must be %s or %s, got %q", server.CertModeFiles, server.CertModeSelfManaged, o.mode)
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

// config is what the server needs of the flags, once Validate has loaded
// --client-ca-file.
func (o *certOptions) config() server.CertConfig {
	return server.CertConfig{Mode: o.mode, Dir: o.dir, SelfManaged: o.selfManaged(), ClientCAs: o.clientCAs, EnableHTTP2: o.enableHTTP2}
}
