package dryrun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestProbeReportsTheSandbox(t *testing.T) {
	cm := schema.GroupResource{Resource: "configmaps"}
	cases := []struct {
		name      string
		namespace string
		answer    error // what the API server answers the dry-run create
		wantErr   string
		wantDry   bool
	}{
		{name: "ready", namespace: "gitgate-dryrun", wantDry: true},
		{name: "stray probe object", namespace: "gitgate-dryrun", answer: apierrors.NewAlreadyExists(cm, probeName), wantDry: true},
		{name: "namespace missing", namespace: "gitgate-dryrun", answer: apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "gitgate-dryrun"), wantErr: `the dry-run namespace "gitgate-dryrun" does not exist`, wantDry: true},
		{name: "no rights", namespace: "gitgate-dryrun", answer: apierrors.NewForbidden(cm, probeName, errors.New("RBAC")), wantErr: `gitgate may not create in the dry-run namespace "gitgate-dryrun"`, wantDry: true},
		{name: "unreachable", namespace: "gitgate-dryrun", answer: errors.New("connection refused"), wantErr: "connection refused", wantDry: true},
		{name: "no namespace set", wantErr: "no dry-run namespace is set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
			var dryRun bool
			client.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
				opts := a.(k8stesting.CreateActionImpl).GetCreateOptions()
				dryRun = len(opts.DryRun) == 1 && opts.DryRun[0] == "All"
				if a.GetNamespace() != c.namespace {
					t.Errorf("probe created in %q, want %q", a.GetNamespace(), c.namespace)
				}
				return true, nil, c.answer
			})
			var logs []string
			log := funcr.New(func(prefix, args string) { logs = append(logs, args) }, funcr.Options{})
			p := &Probe{Defaulter: &Defaulter{Client: client, Namespace: c.namespace}, Log: log}
			if err := p.Healthy(); err == nil {
				t.Fatal("healthy before the first try")
			}
			p.record(p.try(context.Background()))
			err := p.Healthy()
			gauge := testutil.ToFloat64(sandboxReady)
			if c.wantErr == "" {
				if err != nil || gauge != 1 {
					t.Fatalf("Healthy() = %v, gauge %v; want nil, 1", err, gauge)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) || gauge != 0 {
				t.Fatalf("Healthy() = %v, gauge %v; want %q, 0", err, gauge, c.wantErr)
			}
			if dryRun != c.wantDry {
				t.Errorf("dry run = %v, want %v: the probe must store nothing", dryRun, c.wantDry)
			}
			// The state is logged once, not at every try.
			p.record(p.try(context.Background()))
			if len(logs) != 1 {
				t.Errorf("logged %d lines over two tries of one state, want 1: %q", len(logs), logs)
			}
		})
	}
}

func TestProbeLogsRecovery(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	missing := true
	client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if missing {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "sandbox")
		}
		return true, nil, nil
	})
	var logs []string
	log := funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{})
	p := &Probe{Defaulter: &Defaulter{Client: client, Namespace: "sandbox"}, Interval: 10 * time.Millisecond, Log: log}
	p.record(p.try(context.Background()))
	missing = false
	p.record(p.try(context.Background()))
	if err := p.Healthy(); err != nil {
		t.Fatalf("Healthy() after the namespace came = %v", err)
	}
	if len(logs) != 2 || !strings.Contains(logs[0], "unavailable") || !strings.Contains(logs[1], "ready") {
		t.Fatalf("logs = %q, want the failure then the recovery", logs)
	}
}

// TestProbeStopsQuietly: a probe cut short by its context ending reports
// nothing (no "unavailable" line at every shutdown).
func TestProbeStopsQuietly(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		cancel()
		return true, nil, context.Canceled
	})
	var logs []string
	log := funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{})
	p := &Probe{Defaulter: &Defaulter{Client: client, Namespace: "sandbox"}, Log: log}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 0 {
		t.Errorf("logged %q while stopping", logs)
	}
}
