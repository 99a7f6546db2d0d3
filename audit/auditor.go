package audit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/go-logr/logr"
	uzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// DefaultQueueSize holds about ten seconds of records at 1,000 denials per
// second, far more than the writer needs to catch up after a burst.
const DefaultQueueSize = 10000

// EventEmitter turns a record into a Kubernetes Event. It must not block:
// the Auditor's writer calls it for every denial.
type EventEmitter interface {
	Emit(*Record) bool
}

// Options configure an Auditor.
type Options struct {
	// Log receives every record as a structured log line (stdout).
	Log logr.Logger
	// File, if set, receives every record as one JSON line.
	File *File
	// Events, if set, receives denials and break-glass uses.
	Events EventEmitter
	// QueueSize bounds the records waiting to be written.
	QueueSize int
}

// Auditor writes records on its own goroutine. Record never blocks.
type Auditor struct {
	opts  Options
	queue chan *Record
	done  chan struct{}
	// mu orders Record against shutdown: once closed is set under the write
	// lock, no record can enter the queue, so the last drain sees them all.
	mu     sync.RWMutex
	closed bool
}

// shutdownQuiet and shutdownMax bound how long Start keeps writing after
// its context ends: the webhook server still answers in-flight requests
// during its graceful shutdown, and their records must not be lost.
const (
	shutdownQuiet = 250 * time.Millisecond
	shutdownMax   = 5 * time.Second
)

// New returns an Auditor; call Start to begin writing.
func New(opts Options) *Auditor {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	return &Auditor{opts: opts, queue: make(chan *Record, opts.QueueSize), done: make(chan struct{})}
}

// Record queues r for writing and returns at once. If the queue is full the
// record is dropped and counted: a slow disk must not stall admission.
func (a *Auditor) Record(r *Record) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		recordsDropped.Inc()
		return
	}
	select {
	case a.queue <- r:
	default:
		recordsDropped.Inc()
	}
}

// Start writes records until ctx ends, then writes what is still queued,
// flushes and closes the file. It implements manager.Runnable.
func (a *Auditor) Start(ctx context.Context) error {
	defer close(a.done)
	for {
		select {
		case <-ctx.Done():
			a.drainUntilQuiet()
			a.mu.Lock()
			a.closed = true
			a.mu.Unlock()
			a.drain()
			return a.close()
		case r := <-a.queue:
			a.write(r)
			a.drain()
		}
	}
}

// drainUntilQuiet keeps writing until no record has arrived for
// shutdownQuiet, or shutdownMax has passed.
func (a *Auditor) drainUntilQuiet() {
	deadline := time.After(shutdownMax)
	for {
		select {
		case r := <-a.queue:
			a.write(r)
			a.drain()
		case <-time.After(shutdownQuiet):
			return
		case <-deadline:
			return
		}
	}
}

// Done is closed once Start has written every queued record and returned.
func (a *Auditor) Done() <-chan struct{} { return a.done }

// drain writes whatever is queued now, then flushes once: under load the
// file sees large writes, and at rest every record is on disk at once.
func (a *Auditor) drain() {
loop:
	for {
		select {
		case r := <-a.queue:
			a.write(r)
		default:
			break loop
		}
	}
	queueLength.Set(float64(len(a.queue)))
	if a.opts.File != nil {
		if err := a.opts.File.Flush(); err != nil {
			writeErrors.WithLabelValues("file").Inc()
			a.opts.Log.Error(err, "audit file flush failed")
		}
	}
}

func (a *Auditor) write(r *Record) {
	d := string(r.Decision)
	a.opts.Log.Info("audit record", "audit", r)
	recordsWritten.WithLabelValues("log", d).Inc()
	if a.opts.File != nil {
		a.writeFile(r, d)
	}
	if a.opts.Events != nil && !r.DryRun && (r.Decision == Denied || r.Decision == BreakGlass) {
		// A dry run promises no side effects (the webhook is registered
		// with sideEffects None), so it gets no Event.
		if a.opts.Events.Emit(r) {
			recordsWritten.WithLabelValues("event", d).Inc()
		}
	}
}

func (a *Auditor) writeFile(r *Record, d string) {
	line, err := json.Marshal(r)
	if err != nil {
		writeErrors.WithLabelValues("file").Inc()
		a.opts.Log.Error(err, "audit record not encodable", "uid", r.UID)
		return
	}
	line = append(line, '\n')
	err = a.opts.File.Write(line)
	switch {
	case errors.Is(err, ErrRotate):
		writeErrors.WithLabelValues("file-rotate").Inc()
		a.opts.Log.Error(err, "audit file rotation failed; still writing to the current file")
		recordsWritten.WithLabelValues("file", d).Inc()
	case err != nil:
		writeErrors.WithLabelValues("file").Inc()
		a.opts.Log.Error(err, "audit file write failed", "uid", r.UID)
	default:
		recordsWritten.WithLabelValues("file", d).Inc()
	}
}

func (a *Auditor) close() error {
	if a.opts.File == nil {
		return nil
	}
	return a.opts.File.Close()
}

// NewLog is the logger for Options.Log: records as JSON lines on w, named
// audit. It logs at level -2 whatever --zap-log-level says, because records
// are the audit trail, not diagnostics; that level also turns off
// controller-runtime's zap sampling, which would drop records beyond 100 a
// second. It must log nothing but records.
func NewLog(w io.Writer) logr.Logger {
	level := uzap.NewAtomicLevelAt(zapcore.Level(-2))
	return zap.New(zap.WriteTo(w), zap.Level(&level)).WithName("audit")
}
