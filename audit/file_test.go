package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// readRecords reads path and its backups, checking that every line is one
// whole JSON record.
func readRecords(t *testing.T, path string) (map[string]int, int) {
	t.Helper()
	seen := map[string]int{}
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: line is not one JSON record: %v: %q", f, err, sc.Text())
			}
			seen[r.UID]++
		}
		fh.Close()
	}
	return seen, len(files)
}

func TestFileRotationKeepsWholeRecords(t *testing.T) {
	tests := []struct {
		name       string
		records    int
		maxBytes   int64
		maxBackups int
		wantFiles  int
		wantKept   int // records still on disk
	}{
		{name: "no rotation", records: 10, maxBytes: 1 << 20, maxBackups: 1, wantFiles: 1, wantKept: 10},
		{name: "many rotations, all kept", records: 1000, maxBytes: 8 << 10, maxBackups: 100, wantFiles: -1, wantKept: 1000},
		{name: "oldest backups removed", records: 1000, maxBytes: 8 << 10, maxBackups: 2, wantFiles: 3, wantKept: -1},
		{name: "record larger than the limit", records: 5, maxBytes: 10, maxBackups: 10, wantFiles: 5, wantKept: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			f, err := OpenFile(path, tt.maxBytes, tt.maxBackups)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.records {
				line, _ := json.Marshal(&Record{UID: fmt.Sprintf("uid-%04d", i), Decision: Denied, Fields: []string{strings.Repeat("f", i%50)}})
				if err := f.Write(append(line, '\n')); err != nil {
					t.Fatal(err)
				}
				if i%7 == 0 {
					if err := f.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			seen, files := readRecords(t, path)
			if tt.wantFiles > 0 && files != tt.wantFiles {
				t.Errorf("files = %d, want %d", files, tt.wantFiles)
			}
			if tt.wantFiles < 0 && files < 2 {
				t.Errorf("files = %d, want a rotation", files)
			}
			for uid, n := range seen {
				if n != 1 {
					t.Errorf("%s written %d times", uid, n)
				}
			}
			if tt.wantKept > 0 && len(seen) != tt.wantKept {
				t.Errorf("records on disk = %d, want %d", len(seen), tt.wantKept)
			}
			if tt.wantKept < 0 && (len(seen) == 0 || seen[fmt.Sprintf("uid-%04d", tt.records-1)] != 1) {
				t.Errorf("the newest record must survive rotation; have %d records", len(seen))
			}
		})
	}
}

func TestOpenFileRefusesRotationWithoutBackup(t *testing.T) {
	if _, err := OpenFile(filepath.Join(t.TempDir(), "a"), 1024, 0); err != ErrBadRotation {
		t.Errorf("err = %v, want ErrBadRotation", err)
	}
}

func TestFileAppendsAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for i := range 2 {
		f, err := OpenFile(path, 1<<20, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write([]byte(fmt.Sprintf(`{"uid":"run-%d"}`+"\n", i))); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if seen, _ := readRecords(t, path); len(seen) != 2 {
		t.Errorf("records = %v, want both runs", seen)
	}
}

type countEvents struct{ n int }

func (c *countEvents) Emit(*Record) bool { c.n++; return true }

func TestAuditorWritesEveryRecordOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := OpenFile(path, 16<<10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ev := &countEvents{}
	a := New(Options{Log: logr.Discard(), File: f, Events: ev, QueueSize: 5000})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = a.Start(ctx) }()
	dropped := counterValue(recordsDropped)
	const n = 3000
	for i := range n {
		d := Denied
		if i%3 == 1 {
			d = Warned
		}
		a.Record(&Record{UID: fmt.Sprintf("uid-%d", i), Decision: d, DryRun: i%3 == 2, Time: time.Now()})
	}
	cancel()
	<-a.Done()
	if d := counterValue(recordsDropped) - dropped; d != 0 {
		t.Fatalf("%v records dropped", d)
	}
	seen, files := readRecords(t, path)
	if len(seen) != n || files < 2 {
		t.Errorf("records = %d in %d files, want %d across a rotation", len(seen), files, n)
	}
	// Denials that are not dry runs: i%3 == 0.
	if ev.n != n/3 {
		t.Errorf("events = %d, want %d (no event for warnings or dry runs)", ev.n, n/3)
	}
}

func TestAuditorDropsWhenFullAndNeverBlocks(t *testing.T) {
	a := New(Options{Log: logr.Discard(), QueueSize: 2}) // not started: nothing drains
	before := counterValue(recordsDropped)
	done := make(chan struct{})
	go func() {
		for range 5 {
			a.Record(&Record{})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Record blocked on a full queue")
	}
	if d := counterValue(recordsDropped) - before; d != 3 {
		t.Errorf("dropped = %v, want 3", d)
	}
}

func TestEventMessage(t *testing.T) {
	r := &Record{Decision: Denied, Operation: "UPDATE", User: "dev-user", Reason: "field-mismatch", Revision: "main@sha1:abc", File: "web.yaml",
		Fields: []string{"a", "b", "c", "d", "e", "f"}}
	want := "gitgate denied UPDATE by dev-user: field-mismatch at main@sha1:abc, file web.yaml, fields a, b, c, d, e"
	if got := EventMessage(r); got != want {
		t.Errorf("EventMessage = %q, want %q", got, want)
	}
	r = &Record{Decision: BreakGlass, Grant: "inc-1", Operation: "DELETE", User: "dev-user", Reason: "managed-delete"}
	if got := EventMessage(r); got != "gitgate allowed by break-glass grant inc-1 DELETE by dev-user: managed-delete" {
		t.Errorf("EventMessage = %q", got)
	}
	r = &Record{Decision: Denied, Operation: "UPDATE", User: "dev-user", Reason: "field-mismatch", Revision: "main@sha1:abc", Root: "Kustomization flux-system/apps", File: "apps/web.yaml"}
	if got, want := EventMessage(r), "gitgate denied UPDATE by dev-user: field-mismatch at main@sha1:abc of Kustomization flux-system/apps, file apps/web.yaml"; got != want {
		t.Errorf("EventMessage = %q, want %q", got, want)
	}
	r = &Record{Decision: Denied, Operation: "DELETE", User: "system:serviceaccount:ops:bot", Class: "controller", Reason: "managed-delete"}
	if got := EventMessage(r); got != "gitgate denied DELETE by system:serviceaccount:ops:bot (controller): managed-delete" {
		t.Errorf("EventMessage = %q", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestAuditorWritesRecordsArrivingDuringShutdown: the webhook server still
// answers in-flight requests after the manager cancels; their records are
// written, and records after the Auditor finished are counted as dropped.
func TestAuditorWritesRecordsArrivingDuringShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := OpenFile(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Log: logr.Discard(), File: f})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = a.Start(ctx) }()
	cancel()
	for i := range 5 { // in-flight requests answered during shutdown
		time.Sleep(20 * time.Millisecond)
		a.Record(&Record{UID: fmt.Sprintf("late-%d", i), Decision: Denied, Time: time.Now()})
	}
	<-a.Done()
	dropped := counterValue(recordsDropped)
	a.Record(&Record{UID: "after-done", Decision: Denied})
	if d := counterValue(recordsDropped) - dropped; d != 1 {
		t.Errorf("a record after shutdown: %v dropped, want 1", d)
	}
	if seen, _ := readRecords(t, path); len(seen) != 5 {
		t.Errorf("records written = %d, want the 5 that arrived during shutdown", len(seen))
	}
}
