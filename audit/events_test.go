package audit

import (
	"context"
	"strconv"
	"testing"

	"golang.org/x/time/rate"
	"k8s.io/client-go/kubernetes/fake"
)

func TestEventsLimits(t *testing.T) {
	denial := func(group, kind, name string) *Record {
		return &Record{Decision: Denied, Reason: "not-in-git", Operation: "CREATE", User: "dev-user", Group: group, Version: "v1", Kind: kind, APIVersion: "v1", Namespace: "shop", Name: name}
	}
	tests := []struct {
		name    string
		records []*Record
		burst   int
		want    int // Events emitted
	}{
		{name: "an Event about an Event, core", records: []*Record{denial("", "Event", "web.1")}, burst: 10, want: 0},
		{name: "an Event about an Event, events.k8s.io", records: []*Record{denial("events.k8s.io", "Event", "web.1")}, burst: 10, want: 0},
		{name: "an Event kind of another group", records: []*Record{denial("example.com", "Event", "e")}, burst: 10, want: 1},
		{name: "a storm over many objects", records: manyDenials(denial, 100), burst: 7, want: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvents(fake.NewSimpleClientset(), rate.NewLimiter(0, tc.burst))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = e.Start(ctx) }()
			got := 0
			for _, r := range tc.records {
				if e.Emit(r) {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("emitted %d Events, want %d", got, tc.want)
			}
		})
	}
}

func manyDenials(denial func(group, kind, name string) *Record, n int) []*Record {
	out := make([]*Record, n)
	for i := range out {
		out[i] = denial("", "ConfigMap", "cm-"+strconv.Itoa(i))
	}
	return out
}
