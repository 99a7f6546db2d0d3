package certs

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func mustGeneration(t testing.TB, at time.Time, lifetime time.Duration) generation {
	t.Helper()
	g, err := newGeneration("test-ca", []string{"gitgate.gitgate-system.svc", "127.0.0.1"}, at, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDecide(t *testing.T) {
	const life = 90 * time.Second // backdated 9s: valid t0-9s .. t0+90s, renew at t0+57s
	tm := timing{Grace: 5 * time.Second}
	cur := mustGeneration(t, t0, life)
	next := mustGeneration(t, t0.Add(57*time.Second), life)
	old := mustGeneration(t, t0.Add(-60*time.Second), life) // expires t0+30s

	steady := &state{Current: cur}
	staged := &state{Current: cur, Next: &next}
	trusted := &state{Current: cur, Next: &next, NextTrustedAt: t0.Add(58 * time.Second)}
	retired := &state{Current: cur, Previous: []*x509Cert{old.CA.Cert}}

	tests := []struct {
		name      string
		st        *state
		published []byte
		now       time.Time
		want      action
	}{
		{"fresh secret, empty bundle: publish", steady, nil, t0, actionPublish},
		{"steady and published: nothing", steady, steady.bundle(t0), t0.Add(30 * time.Second), actionNone},
		{"two thirds reached: stage", steady, steady.bundle(t0), t0.Add(57 * time.Second), actionStage},
		{"staged: publish both CAs first", staged, steady.bundle(t0), t0.Add(57 * time.Second), actionPublish},
		{"both published: mark trusted", staged, staged.bundle(t0), t0.Add(58 * time.Second), actionMarkTrusted},
		{"trusted, grace not over: wait", trusted, trusted.bundle(t0), t0.Add(62 * time.Second), actionNone},
		{"trusted, grace over: promote", trusted, trusted.bundle(t0), t0.Add(63 * time.Second), actionPromote},
		{"next CA removed from bundle by hand: distrust", trusted, steady.bundle(t0), t0.Add(63 * time.Second), actionDistrust},
		{"retired CA still valid: kept in bundle", retired, retired.bundle(t0), t0.Add(10 * time.Second), actionNone},
		{"retired CA expired: bundle drops it first", retired, retired.bundle(t0), t0.Add(31 * time.Second), actionPublish},
		{"retired CA expired and unpublished: prune", retired, retired.bundle(t0.Add(31 * time.Second)), t0.Add(31 * time.Second), actionPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(tc.st, tc.published, tc.now, tm); got != tc.want {
				t.Errorf("decide = %s, want %s", got, tc.want)
			}
		})
	}
}

type x509Cert = x509.Certificate

func TestBundleOrderAndContent(t *testing.T) {
	cur := mustGeneration(t, t0, time.Minute)
	next := mustGeneration(t, t0, time.Minute)
	old := mustGeneration(t, t0.Add(-time.Hour), time.Minute)
	st := &state{Current: cur, Next: &next, Previous: []*x509Cert{old.CA.Cert}}
	got, err := decodeCerts(st.bundle(t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(cur.CA.Cert) || !got[1].Equal(next.CA.Cert) {
		t.Errorf("bundle holds %d certs, want current then next CA and no expired one", len(got))
	}
}

func TestSecretRoundTrip(t *testing.T) {
	cur := mustGeneration(t, t0, time.Hour)
	next := mustGeneration(t, t0, time.Hour)
	old := mustGeneration(t, t0, time.Hour)
	in := &state{Current: cur, Next: &next, NextTrustedAt: t0, Previous: []*x509Cert{old.CA.Cert}}
	var s corev1.Secret
	in.encode(&s)
	out, err := decodeState(&s)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Current.CA.Cert.Equal(cur.CA.Cert) || out.Next == nil || !out.Next.Serving.Cert.Equal(next.Serving.Cert) ||
		!out.NextTrustedAt.Equal(t0) || len(out.Previous) != 1 || !out.Previous[0].Equal(old.CA.Cert) {
		t.Errorf("round trip lost state: %+v", out)
	}
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("secret type %q, want kubernetes.io/tls", s.Type)
	}
	out.promote()
	out.encode(&s)
	if _, ok := s.Annotations[annotationNextTrusted]; ok {
		t.Errorf("promotion left the trusted-at annotation behind")
	}
}

func TestDecodeStateRejectsCorruptSecrets(t *testing.T) {
	a := mustGeneration(t, t0, time.Hour)
	b := mustGeneration(t, t0, time.Hour)
	var good corev1.Secret
	(&state{Current: a}).encode(&good)
	tests := []struct {
		name string
		edit func(map[string][]byte)
	}{
		{"missing key", func(d map[string][]byte) { delete(d, KeyFile) }},
		{"garbage certificate", func(d map[string][]byte) { d[CertFile] = []byte("not pem") }},
		{"serving certificate from another CA", func(d map[string][]byte) { d[CertFile], d[KeyFile] = b.Serving.CertPEM, b.Serving.KeyPEM }},
		{"half a next generation", func(d map[string][]byte) { d[keyNextCACert] = b.CA.CertPEM }},
		{"garbage previous CAs", func(d map[string][]byte) {
			d[keyPreviousCAs] = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good.DeepCopy()
			tc.edit(s.Data)
			if _, err := decodeState(s); !errors.Is(err, ErrCorruptSecret) {
				t.Errorf("decodeState = %v, want ErrCorruptSecret", err)
			}
		})
	}
}

func FuzzDecodeState(f *testing.F) {
	g := mustGeneration(f, t0, time.Hour)
	f.Add(g.CA.CertPEM, g.CA.KeyPEM, g.Serving.CertPEM, g.Serving.KeyPEM, []byte(nil))
	f.Add([]byte("x"), []byte("y"), []byte(""), []byte("-----BEGIN"), []byte("-----BEGIN CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, caCert, caKey, cert, key, previous []byte) {
		s := &corev1.Secret{Data: map[string][]byte{keyCACert: caCert, keyCAKey: caKey, CertFile: cert, KeyFile: key, keyPreviousCAs: previous}}
		if _, err := decodeState(s); err != nil && !errors.Is(err, ErrCorruptSecret) {
			t.Fatalf("error %v is not ErrCorruptSecret", err)
		}
	})
}
