package peers

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestAnnounce(t *testing.T) {
	client := fake.NewSimpleClientset()
	s := &Signal{Client: client, Namespace: "gitgate-system", Name: DefaultConfigMap, Log: logr.Discard()}
	ctx := context.Background()
	for _, rev := range []string{"main@sha1:aaa", "main@sha1:aaa", "main@sha1:bbb"} {
		s.Announce(ctx, rev)
		cm, err := client.CoreV1().ConfigMaps("gitgate-system").Get(ctx, DefaultConfigMap, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data[revisionKey] != rev {
			t.Errorf("after announcing %s the ConfigMap holds %v", rev, cm.Data)
		}
	}
}

func TestObserve(t *testing.T) {
	tests := []struct {
		name        string
		cm          *corev1.ConfigMap
		current     string
		wantTrigger bool
	}{
		{name: "another revision", cm: withRevision("main@sha1:bbb"), current: "main@sha1:aaa", wantTrigger: true},
		{name: "before the first sync", cm: withRevision("main@sha1:bbb"), current: "", wantTrigger: true},
		{name: "our own revision", cm: withRevision("main@sha1:aaa"), current: "main@sha1:aaa"},
		{name: "empty ConfigMap", cm: &corev1.ConfigMap{}, current: "main@sha1:aaa"},
		{name: "deleted", cm: nil, current: "main@sha1:aaa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			triggered := false
			s := &Signal{Current: func() string { return tc.current }, Trigger: func() { triggered = true }, Log: logr.Discard()}
			s.observe(tc.cm)
			if triggered != tc.wantTrigger {
				t.Errorf("triggered = %v, want %v", triggered, tc.wantTrigger)
			}
		})
	}
}

func withRevision(rev string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Data: map[string]string{revisionKey: rev}}
}
