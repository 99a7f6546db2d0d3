package audit

import (
	"context"
	"strings"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Event reasons gitgate records on objects.
const (
	ReasonDenied     = "GitProvenanceDenied"
	ReasonBreakGlass = "GitProvenanceBreakGlass"
)

// Events records Kubernetes Events through client-go's broadcaster, which
// sends them from its own goroutine, drops them when its queue is full, and
// rate-limits them per object (a burst of 25, then one per five minutes)
// and aggregates repeats. On top, one limit holds for all objects together
// (EventsPerSecond, EventsBurst): a denial storm across many objects never
// becomes an Event storm.
type Events struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	limit       *rate.Limiter
}

// The global Event rate.
const (
	EventsPerSecond = 5
	EventsBurst     = 50
)

// NewEvents starts a broadcaster that writes Events through client.
func NewEvents(client kubernetes.Interface) *Events {
	return newEvents(client, rate.NewLimiter(EventsPerSecond, EventsBurst))
}

func newEvents(client kubernetes.Interface, limit *rate.Limiter) *Events {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &Events{
		broadcaster: b,
		recorder:    b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "gitgate"}),
		limit:       limit,
	}
}

// isEvent reports a record about an Event: gitgate never records an Event
// about one, or a denied Event would beget another, without end.
func isEvent(r *Record) bool {
	return r.Kind == "Event" && (r.Group == "" || r.Group == "events.k8s.io")
}

// Start waits for ctx to end, then stops the broadcaster.
func (e *Events) Start(ctx context.Context) error {
	<-ctx.Done()
	e.broadcaster.Shutdown()
	return nil
}

// Emit records r as a Warning Event on its object, unless r is about an
// Event or the global rate is spent. It reports whether it did.
func (e *Events) Emit(r *Record) bool {
	if isEvent(r) {
		eventsSkipped.WithLabelValues("about-an-event").Inc()
		return false
	}
	if !e.limit.Allow() {
		eventsSkipped.WithLabelValues("rate-limited").Inc()
		return false
	}
	ref := &corev1.ObjectReference{
		APIVersion: r.APIVersion,
		Kind:       r.Kind,
		Namespace:  r.Namespace,
		Name:       r.Name,
		UID:        types.UID(r.ObjectUID),
	}
	reason := ReasonDenied
	if r.Decision == BreakGlass {
		reason = ReasonBreakGlass
	}
	e.recorder.Event(ref, corev1.EventTypeWarning, reason, EventMessage(r))
	return true
}

// EventMessage is an Event's text: who did what and why, with field paths
// but never values.
func EventMessage(r *Record) string {
	var b strings.Builder
	b.WriteString("gitgate ")
	switch r.Decision {
	case BreakGlass:
		b.WriteString("allowed by break-glass grant " + r.Grant + " ")
	default:
		b.WriteString(string(r.Decision) + " ")
	}
	b.WriteString(r.Operation + " by " + r.User)
	if r.Class == "controller" {
		// A person is the default; a controller is held to less.
		b.WriteString(" (controller)")
	}
	b.WriteString(": " + string(r.Reason))
	if r.Revision != "" {
		b.WriteString(" at " + r.Revision)
	}
	if r.Root != "" {
		b.WriteString(" of " + r.Root)
	}
	if r.File != "" {
		b.WriteString(", file " + r.File)
	}
	if len(r.Fields) > 0 {
		fields := r.Fields
		if len(fields) > 5 {
			fields = fields[:5]
		}
		b.WriteString(", fields " + strings.Join(fields, ", "))
	}
	return b.String()
}
