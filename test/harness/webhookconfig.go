package harness

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/certs"
)

// WebhookName is the name of the test ValidatingWebhookConfiguration.
const WebhookName = "gitgate"

// GitgateNamespace is gitgate's own namespace (its default for the
// break-glass ConfigMap). The shipped webhook leaves it out, so grants can
// be written while gitgate cannot sync Git.
const GitgateNamespace = "gitgate-system"

// RegisterWebhook registers the project's own webhook configuration,
// manifests/base/webhook.yaml (rules, namespaceSelector, matchConditions,
// failure policy), with its Service swapped for gitgate's URL and CA: the
// tests meet exactly what users install.
func RegisterWebhook(ctx context.Context, c client.Client, url string, ca *certs.KeyPair) error {
	shipped, err := ShippedWebhook()
	if err != nil {
		return err
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: shipped.Name}}
	_, err = controllerutil.CreateOrUpdate(ctx, c, vwc, func() error {
		vwc.Webhooks = shipped.Webhooks
		for i := range vwc.Webhooks {
			vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.CertPEM}
		}
		return nil
	})
	return err
}

// ShippedWebhook reads manifests/base/webhook.yaml.
func ShippedWebhook() (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	path := filepath.Join(RepoRoot(), "manifests", "base", "webhook.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the shipped webhook: %w", err)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(data, &vwc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if vwc.Name != WebhookName || len(vwc.Webhooks) == 0 {
		return nil, fmt.Errorf("%s: want webhook configuration %s with webhooks", path, WebhookName)
	}
	return &vwc, nil
}

func certPool(ca *certs.KeyPair) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}
