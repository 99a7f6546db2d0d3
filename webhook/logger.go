package webhook

import (
	"sync"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// requestLogger is controller-runtime's per-request logger (object,
// namespace, name, resource, user, requestID), built only when something
// is logged through it. Nearly no request logs anything, and adding the
// values to a zap logger encodes each of them at once: a few per cent of
// gitgate's CPU under load (BENCHMARKS.md).
func requestLogger(base logr.Logger, req *admission.Request) logr.Logger {
	if req == nil {
		return base
	}
	return logr.New(&lazySink{base: base, req: req})
}

// lazySink builds the request's logger on its first use.
type lazySink struct {
	base logr.Logger
	req  *admission.Request
	once sync.Once
	full logr.LogSink
}

func (l *lazySink) sink() logr.LogSink {
	l.once.Do(func() {
		// One frame more than usual: this sink sits between the caller and
		// the real one.
		l.full = admission.DefaultLogConstructor(l.base, l.req).WithCallDepth(1).GetSink()
	})
	return l.full
}

func (l *lazySink) Init(logr.RuntimeInfo) {}

func (l *lazySink) Enabled(level int) bool {
	s := l.base.GetSink()
	return s != nil && s.Enabled(level)
}

func (l *lazySink) Info(level int, msg string, kv ...any) { l.sink().Info(level, msg, kv...) }

func (l *lazySink) Error(err error, msg string, kv ...any) { l.sink().Error(err, msg, kv...) }

func (l *lazySink) WithValues(kv ...any) logr.LogSink {
	return admission.DefaultLogConstructor(l.base, l.req).WithValues(kv...).GetSink()
}

func (l *lazySink) WithName(name string) logr.LogSink {
	return admission.DefaultLogConstructor(l.base, l.req).WithName(name).GetSink()
}
