package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Keys of the self-managed certificate Secret. The current pair uses the
// kubernetes.io/tls names, so the Secret also mounts like cert-manager's.
const (
	keyCACert     = CAFile
	keyCAKey      = "ca.key"
	keyNextCACert = "next-ca.crt"
	keyNextCAKey  = "next-ca.key"
	keyNextCert   = "next-tls.crt"
	keyNextKey    = "next-tls.key"
	// keyPreviousCAs holds retired CAs, PEM concatenated. They stay in the
	// caBundle until they expire, because a replica that has not seen the
	// promotion yet still serves a certificate they signed.
	keyPreviousCAs = "previous-ca.crt"

	// annotationNextTrusted records when a replica saw the next CA in the
	// webhook's caBundle. The promotion waits a grace period after it, the
	// time the API server needs to load the new bundle.
	annotationNextTrusted = "gitgate.dev/next-ca-trusted-at"
)

// ErrCorruptSecret means the certificate Secret exists but cannot be read.
// gitgate replaces it rather than serving nothing: a webhook that fails
// closed and cannot serve blocks the whole cluster.
var ErrCorruptSecret = errors.New("certificate secret is corrupt")

// generation is one CA and the serving certificate it signed.
type generation struct {
	CA, Serving *KeyPair
}

// state is what the certificate Secret holds.
type state struct {
	Current generation
	// Next is the staged rotation: its CA is published in the caBundle
	// before any replica serves its certificate.
	Next *generation
	// NextTrustedAt is when the next CA was seen in the caBundle.
	NextTrustedAt time.Time
	// Previous are retired CAs still trusted until they expire.
	Previous []*x509.Certificate
}

func newGeneration(commonName string, hosts []string, now time.Time, lifetime time.Duration) (generation, error) {
	ca, err := newCAAt(commonName, now, lifetime)
	if err != nil {
		return generation{}, fmt.Errorf("create CA: %w", err)
	}
	serving, err := newServingAt(ca, hosts, now, lifetime)
	if err != nil {
		return generation{}, fmt.Errorf("create serving certificate: %w", err)
	}
	return generation{CA: ca, Serving: serving}, nil
}

// decodeState reads a Secret. Every key pair must parse, and each serving
// certificate must be signed by its CA.
func decodeState(s *corev1.Secret) (*state, error) {
	cur, err := decodeGeneration(s.Data, keyCACert, keyCAKey, CertFile, KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: current: %w", ErrCorruptSecret, err)
	}
	st := &state{Current: cur}
	if len(s.Data[keyNextCACert]) > 0 {
		next, err := decodeGeneration(s.Data, keyNextCACert, keyNextCAKey, keyNextCert, keyNextKey)
		if err != nil {
			return nil, fmt.Errorf("%w: next: %w", ErrCorruptSecret, err)
		}
		st.Next = &next
		if v := s.Annotations[annotationNextTrusted]; v != "" {
			// An unreadable time counts as not trusted yet: re-checking the
			// bundle is cheap, promoting too early fails requests.
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				st.NextTrustedAt = t
			}
		}
	}
	if st.Previous, err = decodeCerts(s.Data[keyPreviousCAs]); err != nil {
		return nil, fmt.Errorf("%w: previous CAs: %w", ErrCorruptSecret, err)
	}
	return st, nil
}

func decodeGeneration(data map[string][]byte, caCert, caKey, cert, key string) (generation, error) {
	ca, err := ParseKeyPair(data[caCert], data[caKey])
	if err != nil {
		return generation{}, fmt.Errorf("CA: %w", err)
	}
	serving, err := ParseKeyPair(data[cert], data[key])
	if err != nil {
		return generation{}, fmt.Errorf("serving certificate: %w", err)
	}
	if err := serving.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		return generation{}, fmt.Errorf("serving certificate not signed by the CA: %w", err)
	}
	return generation{CA: ca, Serving: serving}, nil
}

// encode writes the state into s, replacing its data and the annotation.
func (st *state) encode(s *corev1.Secret) {
	s.Type = corev1.SecretTypeTLS
	s.Data = map[string][]byte{
		keyCACert: st.Current.CA.CertPEM,
		keyCAKey:  st.Current.CA.KeyPEM,
		CertFile:  st.Current.Serving.CertPEM,
		KeyFile:   st.Current.Serving.KeyPEM,
	}
	if st.Next != nil {
		s.Data[keyNextCACert] = st.Next.CA.CertPEM
		s.Data[keyNextCAKey] = st.Next.CA.KeyPEM
		s.Data[keyNextCert] = st.Next.Serving.CertPEM
		s.Data[keyNextKey] = st.Next.Serving.KeyPEM
	}
	if len(st.Previous) > 0 {
		s.Data[keyPreviousCAs] = encodeCerts(st.Previous)
	}
	delete(s.Annotations, annotationNextTrusted)
	if st.Next != nil && !st.NextTrustedAt.IsZero() {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[annotationNextTrusted] = st.NextTrustedAt.UTC().Format(time.RFC3339)
	}
}

// bundle is the caBundle the webhook must carry: the current CA, the next
// one when a rotation is staged, and retired CAs that have not expired.
func (st *state) bundle(now time.Time) []byte {
	certs := []*x509.Certificate{st.Current.CA.Cert}
	if st.Next != nil {
		certs = append(certs, st.Next.CA.Cert)
	}
	for _, c := range st.Previous {
		if now.Before(c.NotAfter) {
			certs = append(certs, c)
		}
	}
	return encodeCerts(certs)
}

// action is the one next step of the rotation protocol. Each step is one
// write, done by whichever replica gets there first; the others see a
// conflict, re-read and find the step done.
type action int

const (
	actionNone action = iota
	// actionStage creates the next CA and serving certificate in the Secret.
	actionStage
	// actionPublish writes the bundle into the webhook configuration.
	actionPublish
	// actionMarkTrusted records that the bundle carries the next CA.
	actionMarkTrusted
	// actionPromote makes next current; every replica then serves it.
	actionPromote
	// actionPrune drops expired retired CAs from the Secret.
	actionPrune
	// actionDistrust forgets NextTrustedAt: someone removed the next CA
	// from the caBundle, so the grace period must start again.
	actionDistrust
)

func (a action) String() string {
	return [...]string{"none", "stage", "publish", "mark-trusted", "promote", "prune", "distrust"}[a]
}

// timing are the protocol's clock settings.
type timing struct {
	// Grace is how long the next CA must sit in the caBundle before any
	// replica serves a certificate it signed.
	Grace time.Duration
}

// decide returns the next step, given the Secret's state and the caBundle
// the webhook configuration carries now. The order is what makes rotation
// safe: stage, publish the new CA next to the old, wait, switch the
// serving certificate, and drop the old CA only once it has expired.
func decide(st *state, published []byte, now time.Time, t timing) action {
	switch {
	case st.Next == nil && !now.Before(renewAt(st.Current.Serving.Cert)):
		return actionStage
	case st.Next != nil && !st.NextTrustedAt.IsZero() && !bundleHas(published, st.Next.CA.Cert):
		return actionDistrust
	case !bytes.Equal(published, st.bundle(now)):
		return actionPublish
	case st.Next != nil && st.NextTrustedAt.IsZero():
		return actionMarkTrusted
	case st.Next != nil && !now.Before(st.NextTrustedAt.Add(t.Grace)):
		return actionPromote
	case len(st.Previous) > 0 && hasExpired(st.Previous, now):
		return actionPrune
	}
	return actionNone
}

// wakeAt is when decide may next return something other than actionNone
// without the Secret changing.
func wakeAt(st *state, t timing) time.Time {
	next := renewAt(st.Current.Serving.Cert)
	if st.Next != nil && !st.NextTrustedAt.IsZero() {
		next = earliest(next, st.NextTrustedAt.Add(t.Grace))
	}
	for _, c := range st.Previous {
		next = earliest(next, c.NotAfter)
	}
	return next
}

// renewAt is two thirds into the certificate's validity, as cert-manager
// renews by default.
func renewAt(c *x509.Certificate) time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
}

func (st *state) promote() {
	st.Previous = append(st.Previous, st.Current.CA.Cert)
	st.Current = *st.Next
	st.Next = nil
	st.NextTrustedAt = time.Time{}
}

func (st *state) prune(now time.Time) {
	kept := st.Previous[:0]
	for _, c := range st.Previous {
		if now.Before(c.NotAfter) {
			kept = append(kept, c)
		}
	}
	st.Previous = kept
}

func hasExpired(cs []*x509.Certificate, now time.Time) bool {
	for _, c := range cs {
		if !now.Before(c.NotAfter) {
			return true
		}
	}
	return false
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func encodeCerts(cs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range cs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

func decodeCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return nil, errors.New("trailing data after the PEM certificates")
	}
	return out, nil
}

// bundleHas reports whether the PEM bundle contains ca.
func bundleHas(bundle []byte, ca *x509.Certificate) bool {
	cs, err := decodeCerts(bundle)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.Equal(ca) {
			return true
		}
	}
	return false
}
