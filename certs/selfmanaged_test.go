package certs

import (
	"context"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const testNS, testSecret, testWebhook = "gitgate-system", "gitgate-webhook-tls", "gitgate"

func newFakeCluster() *fake.Clientset {
	return fake.NewClientset(&admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testWebhook},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "a.gitgate.dev"}, {Name: "b.gitgate.dev"}},
	})
}

func newReplica(t *testing.T, c kubernetes.Interface, lifetime time.Duration, clock func() time.Time) *SelfManaged {
	t.Helper()
	s, err := NewSelfManaged(c, SelfManagedOptions{
		Namespace: testNS, SecretName: testSecret, WebhookName: testWebhook,
		Hosts: []string{"gitgate.gitgate-system.svc"}, Lifetime: lifetime,
	}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock
	return s
}

func bundleOf(t *testing.T, c kubernetes.Interface) []*x509.Certificate {
	t.Helper()
	vwc, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(context.Background(), testWebhook, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range vwc.Webhooks[1:] {
		if string(w.ClientConfig.CABundle) != string(vwc.Webhooks[0].ClientConfig.CABundle) {
			t.Fatalf("webhooks carry different caBundles")
		}
	}
	cs, err := decodeCerts(vwc.Webhooks[0].ClientConfig.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestRotationNeverServesAnUntrustedCertificate runs two replicas through
// several rotations on a fake clock, one reconcile at a time, and checks
// after every single step what the API server would see: each replica's
// certificate chains to a CA in the caBundle, and that CA was in the
// bundle for the grace period before anyone served it.
func TestRotationNeverServesAnUntrustedCertificate(t *testing.T) {
	c := newFakeCluster()
	now := t0
	clock := func() time.Time { return now }
	const life = time.Minute // grace 6s, rotation every ~40s
	replicas := []*SelfManaged{newReplica(t, c, life, clock), newReplica(t, c, life, clock)}
	ctx := context.Background()

	firstPublished := map[string]time.Time{}
	firstServed := map[string]time.Time{}
	var initial string
	for step := 0; now.Before(t0.Add(5 * time.Minute)); step++ {
		for i := range replicas {
			r := replicas[(i+step)%2] // alternate who goes first
			if _, err := r.reconcile(ctx); err != nil {
				t.Fatalf("at %s: reconcile: %v", now.Sub(t0), err)
			}
			bundle := bundleOf(t, c)
			for _, ca := range bundle {
				if _, ok := firstPublished[string(ca.Raw)]; !ok {
					firstPublished[string(ca.Raw)] = now
				}
			}
			for j, rr := range replicas {
				ca := rr.servingCA.Load()
				if ca == nil {
					continue
				}
				if initial == "" {
					initial = string(ca.Raw)
				}
				if _, ok := firstServed[string(ca.Raw)]; !ok {
					firstServed[string(ca.Raw)] = now
				}
				if !bundleHas(encodeCerts(bundle), ca) {
					t.Fatalf("at %s: replica %d serves a certificate whose CA is not in the caBundle", now.Sub(t0), j)
				}
				if err := rr.Healthy(); err != nil && step > 0 {
					t.Fatalf("at %s: replica %d unhealthy: %v", now.Sub(t0), j, err)
				}
				if leaf := rr.serving.Load().Leaf; !now.Before(leaf.NotAfter) {
					t.Fatalf("at %s: replica %d serves an expired certificate", now.Sub(t0), j)
				}
			}
		}
		now = now.Add(500 * time.Millisecond)
	}
	if len(firstServed) < 6 {
		t.Fatalf("served %d CAs in 5 minutes of a 1-minute lifetime, want at least 6 (rotation at two thirds)", len(firstServed))
	}
	grace := replicas[0].timing.Grace
	for ca, served := range firstServed {
		if ca == initial {
			continue
		}
		if wait := served.Sub(firstPublished[ca]); wait < grace {
			t.Errorf("a CA was served %s after it entered the caBundle, want at least the grace %s", wait, grace)
		}
	}
	if n := len(bundleOf(t, c)); n > 3 {
		t.Errorf("caBundle holds %d CAs, want expired ones pruned (at most current, next and one retired)", n)
	}
}

func TestReplicasStartingTogetherShareOneCA(t *testing.T) {
	c := newFakeCluster()
	var replicas []*SelfManaged
	for range 5 {
		replicas = append(replicas, newReplica(t, c, time.Hour, time.Now))
	}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			if _, err := r.reconcile(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, r := range replicas { // a second pass sees the final bundle
		if _, err := r.reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	bundle := bundleOf(t, c)
	if len(bundle) != 1 {
		t.Fatalf("caBundle holds %d CAs, want 1", len(bundle))
	}
	for i, r := range replicas {
		if !r.servingCA.Load().Equal(bundle[0]) {
			t.Errorf("replica %d serves a certificate from another CA", i)
		}
		if err := r.Healthy(); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

func TestCorruptSecretIsReplacedAndServedCAStaysTrusted(t *testing.T) {
	c := newFakeCluster()
	r := newReplica(t, c, time.Hour, time.Now)
	ctx := context.Background()
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	oldCA := r.servingCA.Load()
	secrets := c.CoreV1().Secrets(testNS)
	s, err := secrets.Get(ctx, testSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data[CertFile] = []byte("edited by hand")
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	bundle := encodeCerts(bundleOf(t, c))
	if !bundleHas(bundle, oldCA) || !bundleHas(bundle, r.servingCA.Load()) || oldCA.Equal(r.servingCA.Load()) {
		t.Errorf("after replacing a corrupt Secret the bundle must hold the old and the new CA")
	}
}

func TestHealthyRequiresTrustedCertificate(t *testing.T) {
	c := fake.NewClientset() // no webhook configuration installed
	r := newReplica(t, c, time.Hour, time.Now)
	if err := r.Healthy(); err == nil {
		t.Fatal("healthy before any certificate")
	}
	if _, err := r.reconcile(context.Background()); err == nil {
		t.Fatal("reconcile without a webhook configuration succeeded")
	}
	if _, err := r.GetCertificate(nil); err != nil {
		t.Errorf("a certificate should be served even before it is trusted: %v", err)
	}
	if err := r.Healthy(); err != ErrCANotTrusted {
		t.Errorf("Healthy = %v, want ErrCANotTrusted", err)
	}
	if _, err := c.CoreV1().Secrets(testNS).Get(context.Background(), testSecret, metav1.GetOptions{}); err != nil {
		t.Errorf("secret not created: %v", err)
	}
}

func TestSelfManagedOptionsValidate(t *testing.T) {
	good := SelfManagedOptions{Namespace: "n", SecretName: "s", WebhookName: "w", Hosts: []string{"h"}, Lifetime: time.Hour}
	tests := []struct {
		name string
		edit func(*SelfManagedOptions)
		ok   bool
	}{
		{"good", func(*SelfManagedOptions) {}, true},
		{"no namespace", func(o *SelfManagedOptions) { o.Namespace = "" }, false},
		{"no webhook", func(o *SelfManagedOptions) { o.WebhookName = "" }, false},
		{"no hosts", func(o *SelfManagedOptions) { o.Hosts = nil }, false},
		{"lifetime too short", func(o *SelfManagedOptions) { o.Lifetime = time.Second }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			if err := o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
