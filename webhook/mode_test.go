package webhook

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Mode
		wantErr bool
	}{{"enforce", Enforce, false}, {"warn", Warn, false}, {"audit", Audit, false}, {"Warn", "", true}, {"", "", true}, {"off", "", true}} {
		got, err := ParseMode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseMode(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestNamespaceModes(t *testing.T) {
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	client := fake.NewClientset(
		ns("warned", map[string]string{ModeLabel: "warn"}),
		ns("audited", map[string]string{ModeLabel: "audit"}),
		ns("strict", map[string]string{ModeLabel: "enforce"}),
		ns("typo", map[string]string{ModeLabel: "audti"}),
		ns("plain", nil),
	)
	m := NewNamespaceModes(client, Warn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = m.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for m.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("namespace cache never synced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tt := range []struct {
		ns   string
		want Mode
	}{
		{"warned", Warn}, {"audited", Audit}, {"strict", Enforce},
		{"typo", Enforce}, // an unknown value fails closed
		{"plain", Warn},   // no label: the --mode default
		{"missing", Warn}, // not (yet) in the cache: the default
		{"", Warn},        // cluster-scoped objects, Namespaces included
	} {
		if got := m.ModeFor(tt.ns); got != tt.want {
			t.Errorf("ModeFor(%q) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}
