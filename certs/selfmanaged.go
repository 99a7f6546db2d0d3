package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// SelfManagedOptions name what a self-managed source owns.
type SelfManagedOptions struct {
	// Namespace and SecretName locate the Secret every replica shares.
	Namespace, SecretName string
	// WebhookName is the ValidatingWebhookConfiguration whose caBundle
	// gitgate keeps; gitgate never creates it.
	WebhookName string
	// Hosts are the serving certificate's DNS names and IP addresses.
	Hosts []string
	// Lifetime of each CA and serving certificate; rotation starts at two
	// thirds of it.
	Lifetime time.Duration
}

// MinLifetime is the shortest certificate lifetime SelfManaged accepts:
// rotation needs time to publish, wait and switch.
const MinLifetime = 30 * time.Second

// Validate reports every invalid option at once.
func (o SelfManagedOptions) Validate() error {
	var errs []error
	if o.Namespace == "" || o.SecretName == "" {
		errs = append(errs, errors.New("a namespace and a secret name are required"))
	}
	if o.WebhookName == "" {
		errs = append(errs, errors.New("a webhook configuration name is required"))
	}
	if len(o.Hosts) == 0 {
		errs = append(errs, errors.New("at least one host name is required"))
	}
	if o.Lifetime < MinLifetime {
		errs = append(errs, fmt.Errorf("certificate lifetime must be at least %s, got %s", MinLifetime, o.Lifetime))
	}
	return errors.Join(errs...)
}

// ErrCANotTrusted means the CA of the served certificate is not in the
// webhook's caBundle (yet): the API server would refuse the connection, so
// the replica is not ready.
var ErrCANotTrusted = errors.New("the CA of the served certificate is not in the webhook's caBundle")

// ErrNoWebhookConfig means the ValidatingWebhookConfiguration to keep is
// missing. gitgate does not create it: the install manifests own it.
var ErrNoWebhookConfig = errors.New("webhook configuration not found")

// SelfManaged issues its own CA and serving certificate, shares them with
// every replica through one Secret, keeps the CA in the webhook's caBundle
// and rotates both at two thirds of their lifetime without a moment in
// which the API server distrusts a serving replica. It is a
// manager.Runnable on every replica, like cert-manager's
// pkg/server/tls CertificateSource.
type SelfManaged struct {
	client kubernetes.Interface
	opts   SelfManagedOptions
	log    logr.Logger
	timing timing
	resync time.Duration
	now    func() time.Time

	serving   atomic.Pointer[tls.Certificate]
	servingCA atomic.Pointer[x509.Certificate]
	trusted   atomic.Bool
	kick      chan struct{}
}

// NewSelfManaged checks the options; Start does the work.
func NewSelfManaged(c kubernetes.Interface, o SelfManagedOptions, log logr.Logger) (*SelfManaged, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("self-managed certificates: %w", err)
	}
	// A tenth of the lifetime, at most a minute: long enough for every API
	// server to load a new caBundle and every replica to see the Secret.
	step := min(o.Lifetime/10, time.Minute)
	return &SelfManaged{
		client: c, opts: o, log: log,
		timing: timing{Grace: step},
		resync: step,
		now:    time.Now,
		kick:   make(chan struct{}, 1),
	}, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (s *SelfManaged) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.serving.Load(); c != nil {
		return c, nil
	}
	return nil, ErrNoCertificate
}

// Healthy fails while no certificate is loaded, while it is outside its
// validity, and while its CA is not in the caBundle; readiness follows it.
func (s *SelfManaged) Healthy() error {
	c := s.serving.Load()
	if err := checkValidity(c, s.now()); err != nil {
		return err
	}
	if !s.trusted.Load() {
		return ErrCANotTrusted
	}
	return nil
}

// NeedLeaderElection is false: every replica serves and takes part.
func (s *SelfManaged) NeedLeaderElection() bool { return false }

// Start watches the Secret and reconciles until ctx ends.
func (s *SelfManaged) Start(ctx context.Context) error {
	go s.watchSecret(ctx)
	backoff := time.Second
	for {
		wake, err := s.reconcile(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			syncErrors.Inc()
			s.log.Error(err, "certificate reconcile failed; retrying", "secret", s.opts.SecretName, "webhook", s.opts.WebhookName, "retryIn", backoff)
			wake = s.now().Add(backoff)
			backoff = min(backoff*2, s.resync)
		} else {
			backoff = time.Second
		}
		wait := min(wake.Sub(s.now()), s.resync)
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// watchSecret kicks the reconcile loop on every change of the one Secret.
// It lists and watches by name, so RBAC can restrict it by resourceNames.
func (s *SelfManaged) watchSecret(ctx context.Context) {
	byName := fields.OneTermEqualSelector("metadata.name", s.opts.SecretName).String()
	secrets := s.client.CoreV1().Secrets(s.opts.Namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = byName
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = byName
			return secrets.Watch(ctx, o)
		},
	}
	kick := func() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &corev1.Secret{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { kick() },
			UpdateFunc: func(any, any) { kick() },
			DeleteFunc: func(any) { kick() },
		},
	})
	informer.RunWithContext(ctx)
}

// maxSteps bounds one reconcile: a full rotation takes at most four writes,
// plus a few conflicts with other replicas.
const maxSteps = 12

// reconcile takes protocol steps until none is due, and returns when the
// next one may become due.
func (s *SelfManaged) reconcile(ctx context.Context) (time.Time, error) {
	for range maxSteps {
		secret, st, err := s.loadOrCreate(ctx)
		if err != nil {
			return time.Time{}, err
		}
		vwc, err := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, s.opts.WebhookName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s.serve(st.Current, nil)
			return time.Time{}, fmt.Errorf("%w: %s", ErrNoWebhookConfig, s.opts.WebhookName)
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("get webhook configuration %s: %w", s.opts.WebhookName, err)
		}
		if len(vwc.Webhooks) == 0 {
			s.serve(st.Current, nil)
			return time.Time{}, fmt.Errorf("%w: %s has no webhooks", ErrNoWebhookConfig, s.opts.WebhookName)
		}
		published := publishedBundle(vwc)
		s.serve(st.Current, published)

		now := s.now()
		a := decide(st, published, now, s.timing)
		if a == actionNone {
			return wakeAt(st, s.timing), nil
		}
		s.log.Info("certificate rotation step", "step", a.String(), "secret", s.opts.SecretName)
		if a == actionPublish {
			err = s.publish(ctx, vwc, st.bundle(now))
		} else {
			err = s.apply(a, st, now)
			if err == nil {
				st.encode(secret)
				_, err = s.client.CoreV1().Secrets(s.opts.Namespace).Update(ctx, secret, metav1.UpdateOptions{})
				err = wrapErr(err, "update certificate secret")
			}
		}
		if apierrors.IsConflict(err) {
			// Another replica took a step first; read again.
			continue
		}
		if err != nil {
			return time.Time{}, err
		}
		rotationSteps.WithLabelValues(a.String()).Inc()
	}
	return time.Time{}, errors.New("certificate reconcile did not settle; other replicas keep changing the Secret")
}

// apply changes st for a Secret step.
func (s *SelfManaged) apply(a action, st *state, now time.Time) error {
	switch a {
	case actionStage:
		next, err := newGeneration("gitgate-ca", s.opts.Hosts, s.now(), s.opts.Lifetime)
		if err != nil {
			return err
		}
		st.Next = &next
	case actionMarkTrusted:
		st.NextTrustedAt = now
	case actionDistrust:
		st.NextTrustedAt = time.Time{}
	case actionPromote:
		st.promote()
	case actionPrune:
		st.prune(now)
	}
	return nil
}

// loadOrCreate reads the Secret, creating it with a fresh CA when it is
// missing. Replicas that start together race to create it; the losers get
// AlreadyExists and adopt the winner's CA, so all share one.
func (s *SelfManaged) loadOrCreate(ctx context.Context) (*corev1.Secret, *state, error) {
	secrets := s.client.CoreV1().Secrets(s.opts.Namespace)
	secret, err := secrets.Get(ctx, s.opts.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secret, err = s.create(ctx)
		if apierrors.IsAlreadyExists(err) {
			s.log.Info("another replica created the certificate secret first; adopting its CA", "secret", s.opts.SecretName)
			secret, err = secrets.Get(ctx, s.opts.SecretName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get certificate secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
	}
	st, err := decodeState(secret)
	if errors.Is(err, ErrCorruptSecret) {
		return s.replaceCorrupt(ctx, secret, err)
	}
	return secret, st, err
}

func (s *SelfManaged) create(ctx context.Context) (*corev1.Secret, error) {
	gen, err := newGeneration("gitgate-ca", s.opts.Hosts, s.now(), s.opts.Lifetime)
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name: s.opts.SecretName, Namespace: s.opts.Namespace,
		Labels: map[string]string{"app.kubernetes.io/name": "gitgate", "app.kubernetes.io/component": "webhook-certificate"},
	}}
	(&state{Current: gen}).encode(secret)
	created, err := s.client.CoreV1().Secrets(s.opts.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	if err == nil {
		s.log.Info("created certificate secret with a new CA", "secret", s.opts.SecretName)
	}
	return created, err
}

// replaceCorrupt overwrites an unreadable Secret with a new CA. The CA this
// replica serves with stays trusted until it expires, so replicas still
// serving the old certificate keep working.
func (s *SelfManaged) replaceCorrupt(ctx context.Context, secret *corev1.Secret, cause error) (*corev1.Secret, *state, error) {
	s.log.Error(cause, "certificate secret unreadable; replacing it with a new CA", "secret", s.opts.SecretName)
	gen, err := newGeneration("gitgate-ca", s.opts.Hosts, s.now(), s.opts.Lifetime)
	if err != nil {
		return nil, nil, err
	}
	st := &state{Current: gen}
	if ca := s.servingCA.Load(); ca != nil {
		st.Previous = []*x509.Certificate{ca}
	}
	st.encode(secret)
	updated, err := s.client.CoreV1().Secrets(s.opts.Namespace).Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("replace corrupt certificate secret: %w", err)
	}
	return updated, st, nil
}

// publish writes bundle into every webhook of the configuration.
func (s *SelfManaged) publish(ctx context.Context, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, bundle []byte) error {
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig.CABundle = bundle
	}
	_, err := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, vwc, metav1.UpdateOptions{})
	return wrapErr(err, "update caBundle of webhook configuration")
}

// serve switches to gen's serving certificate and records whether the
// published bundle trusts its CA.
func (s *SelfManaged) serve(gen generation, published []byte) {
	s.trusted.Store(bundleHas(published, gen.CA.Cert))
	if cur := s.servingCA.Load(); cur != nil && cur.Equal(gen.CA.Cert) {
		if c := s.serving.Load(); c != nil && c.Leaf != nil && c.Leaf.Equal(gen.Serving.Cert) {
			return
		}
	}
	pair, err := tls.X509KeyPair(gen.Serving.CertPEM, gen.Serving.KeyPEM)
	if err != nil {
		// decodeState parsed both already; this cannot happen short of a bug.
		s.log.Error(err, "cannot load serving certificate")
		return
	}
	pair.Leaf = gen.Serving.Cert
	s.serving.Store(&pair)
	s.servingCA.Store(gen.CA.Cert)
	certificateExpiry.Set(float64(gen.Serving.Cert.NotAfter.Unix()))
	s.log.Info("serving certificate loaded", "notAfter", gen.Serving.Cert.NotAfter.UTC().Format(time.RFC3339), "serial", gen.Serving.Cert.SerialNumber.Text(16))
}

// publishedBundle is the caBundle all webhooks share; nil when they differ,
// which makes the next step a publish.
func publishedBundle(vwc *admissionregistrationv1.ValidatingWebhookConfiguration) []byte {
	if len(vwc.Webhooks) == 0 {
		return nil
	}
	b := vwc.Webhooks[0].ClientConfig.CABundle
	for _, w := range vwc.Webhooks[1:] {
		if string(w.ClientConfig.CABundle) != string(b) {
			return nil
		}
	}
	return b
}

func wrapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
