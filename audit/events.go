package audit

import (
	"context"
	"strings"

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
// and aggregates repeats: a flood of denials cannot flood the API server.
type Events struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
}

// NewEvents starts a broadcaster that writes Events through client.
func NewEvents(client kubernetes.Interface) *Events {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &Events{broadcaster: b, recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "gitgate"})}
}

// Start waits for ctx to end, then stops the broadcaster.
func (e *Events) Start(ctx context.Context) error {
	<-ctx.Done()
	e.broadcaster.Shutdown()
	return nil
}

// Emit records r as a Warning Event on its object.
func (e *Events) Emit(r *Record) {
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
