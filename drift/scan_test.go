package drift

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

type fixedSnap struct{ s *provenance.Snapshot }

func (f fixedSnap) Load() *provenance.Snapshot { return f.s }

func TestScanOnceExportsCountsAndWritesStatus(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	f := &fakeLive{objects: map[string]map[string]any{
		"ConfigMap shop/a": live(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: changed}\n"),
		"Secret shop/s":    live(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: c2VjcmV0}\n"),
	}}
	kube := fake.NewSimpleClientset()
	status := &ConfigMapStatus{Client: kube, Namespace: "gitgate-system", Name: "gitgate-drift"}
	s := &Scanner{Interval: time.Minute, Snapshots: fixedSnap{snap}, Live: f, Checker: &provenance.Checker{}, Status: status}
	for i := 0; i < 2; i++ { // the second scan updates the ConfigMap the first created
		if err := s.ScanOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		state, kind string
		want        float64
	}{{"differs", "ConfigMap", 1}, {"missing", "ConfigMap", 1}, {"differs", "Secret", 1}, {"matches", "ConfigMap", 0}} {
		var m dto.Metric
		if err := objects.WithLabelValues(tc.state, tc.kind).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetGauge().GetValue(); got != tc.want {
			t.Errorf("gitgate_drift_objects{state=%q,kind=%q} = %v, want %v", tc.state, tc.kind, got, tc.want)
		}
	}
	cm, err := kube.CoreV1().ConfigMaps("gitgate-system").Get(context.Background(), "gitgate-drift", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkStatus(t, cm)
}

func checkStatus(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	if cm.Data["revision"] != "main@sha1:"+strings.Repeat("a", 40) || cm.Data["summary"] != "differs=2 matches=0 missing=1 unreadable=0 unverifiable=0" {
		t.Errorf("status = %v", cm.Data)
	}
	for _, w := range []string{`"name":"s"`, `"fields":["data.password"]`, `"state":"missing"`} {
		if !strings.Contains(cm.Data["drifted"], w) {
			t.Errorf("drifted lacks %s: %s", w, cm.Data["drifted"])
		}
	}
	for _, secret := range []string{"c2VjcmV0", "hunter2", "aHVudGVyMg"} {
		for k, v := range cm.Data {
			if strings.Contains(v, secret) {
				t.Errorf("status %s holds a Secret value: %s", k, v)
			}
		}
	}
}

func TestScanOnceWithoutSnapshotDoesNothing(t *testing.T) {
	s := &Scanner{Interval: time.Minute, Snapshots: fixedSnap{nil}, Live: &fakeLive{}, Checker: &provenance.Checker{}}
	if err := s.ScanOnce(context.Background()); err != nil {
		t.Errorf("err = %v, want none before the first sync", err)
	}
}

// A scan that fails is counted; one cut short because its context ended
// (the replica stops or lost the Lease) is not.
func TestScanOnceCountsFailuresNotStops(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	for _, tc := range []struct {
		name    string
		stopped bool
		want    float64
	}{
		{"the summary cannot be written", false, 1},
		{"the replica stops", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.stopped {
				cancel()
			}
			s := &Scanner{Interval: time.Minute, Snapshots: fixedSnap{snap}, Live: &fakeLive{}, Checker: &provenance.Checker{}, Status: failingStatus{}}
			before := counterValue(t, scans.WithLabelValues("error"))
			if err := s.ScanOnce(ctx); err == nil {
				t.Fatal("ScanOnce succeeded")
			}
			if got := counterValue(t, scans.WithLabelValues("error")) - before; got != tc.want {
				t.Errorf("gitgate_drift_scans_total{result=\"error\"} rose by %v, want %v", got, tc.want)
			}
		})
	}
}

type failingStatus struct{}

func (failingStatus) Write(context.Context, *Report, time.Time) error {
	return errors.New("configmaps \"gitgate-drift\" is forbidden")
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
