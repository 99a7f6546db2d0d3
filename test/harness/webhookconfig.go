package harness

import (
	"context"
	"crypto/x509"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/gitgate/gitgate/certs"
)

// WebhookName is the name of the test ValidatingWebhookConfiguration.
const WebhookName = "gitgate"

// GitgateNamespace is gitgate's own namespace (its default for the
// break-glass ConfigMap). The webhook leaves it out, as the shipped
// manifests do, so grants can be written while gitgate cannot sync Git.
const GitgateNamespace = "gitgate-system"

// RegisterWebhook points the API server at gitgate for CREATE, UPDATE and
// DELETE on every resource and on */scale, failing closed. kube-system,
// kube-public, kube-node-lease and gitgate's namespace, and leases and
// events, are left out, as the shipped manifests do.
func RegisterWebhook(ctx context.Context, c client.Client, url string, ca *certs.KeyPair) error {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookName}}
	_, err := controllerutil.CreateOrUpdate(ctx, c, vwc, func() error {
		vwc.Webhooks = []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.gitgate.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.CertPEM},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			TimeoutSeconds:          ptr.To[int32](5),
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*", "*/scale"},
				},
			}},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
				Values: []string{"kube-system", "kube-public", "kube-node-lease", GitgateNamespace},
			}}},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "skip-leases-and-events",
				Expression: `!(request.resource.resource in ["leases", "events", "tokenreviews", "subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectreviews"])`,
			}},
		}}
		return nil
	})
	return err
}

func certPool(ca *certs.KeyPair) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}
