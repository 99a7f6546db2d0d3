package webhook

import (
	"context"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// The judge stage of a CONNECT request: kubectl exec, attach and
// port-forward. No object changes, but whoever runs a command in a
// container holds what the container holds: its service account's token
// first. So the Pod's service account is judged as a token for it would
// be, and the rest of people's CONNECTs follow --connect. The request
// carries the options (a PodExecOptions), not the Pod: gitgate reads the
// Pod from the API server (Pods), and refuses when it cannot.

// Connect is what people's exec, attach and port-forward get on Pods that
// run as no agent, exempt or controller service account (--connect).
type Connect string

// Values of --connect. The zero value is ConnectDenyPeople.
const (
	// ConnectDenyPeople refuses people's CONNECTs in every mode; a
	// break-glass grant covers them, warned and audited. The default:
	// a command run in a container changes what runs outside Git.
	ConnectDenyPeople Connect = "deny-people"
	// ConnectJudge refuses them through the namespace's mode: warn and
	// audit let them through with a record.
	ConnectJudge Connect = "judge"
	// ConnectAllow lets them through unrecorded.
	ConnectAllow Connect = "allow"
)

// DefaultConnect is --connect's default.
const DefaultConnect = ConnectDenyPeople

// ParseConnect accepts deny-people, judge or allow.
func ParseConnect(s string) (Connect, error) {
	switch c := Connect(s); c {
	case ConnectDenyPeople, ConnectJudge, ConnectAllow:
		return c, nil
	}
	return "", fmt.Errorf("want deny-people, judge or allow, got %q", s)
}

// Pods names the service account a Pod runs as ("" when its spec names
// none). server's implementation GETs the Pod from the API server,
// uncached: CONNECTs are rare, and a cache of every Pod is not.
type Pods interface {
	ServiceAccountOf(ctx context.Context, namespace, name string) (string, error)
}

// connectOperation is a CONNECT as provenance.Request names it.
const connectOperation = provenance.Operation(admissionv1.Connect)

// podLookupTimeout bounds the Pod's GET, well within the API server's 5 s
// for the webhook.
const podLookupTimeout = time.Second

// isConnect reports a CONNECT request (exec, attach, port-forward).
func isConnect(req *admission.Request) bool {
	return req.Operation == admissionv1.Connect
}

// judgeConnect gives the verdict on a CONNECT of a caller that is neither
// exempt nor an agent (identity.go let those through unjudged). As with a
// token (judgeToken), nobody may reach into a Pod that runs as an agent's
// or exempt service account, and a person not into a controller's: those
// refusals hold in every mode, and no grant covers them. Nor does one
// cover a Pod gitgate cannot read (fail closed, errPodUnknown). A
// controller's CONNECT to any other Pod is its own; a person's follows
// --connect.
func (h *Handler) judgeConnect(ctx context.Context, req *admission.Request, who caller) (*provenance.Request, *provenance.Snapshot, verdict, error) {
	preq := &provenance.Request{
		Operation: connectOperation, Group: req.Resource.Group, Version: req.Resource.Version, Kind: connectKind(req),
		Namespace: req.Namespace, Name: req.Name, Subresource: req.SubResource,
	}
	snap := h.Snapshots.Load()
	v := verdict{who: who, reason: reasonConnect}
	if preq.Kind == "Pod" {
		sa, err := h.podServiceAccount(ctx, req)
		if err != nil {
			v.reason, v.err = reasonPodUnknown, fmt.Errorf("%w %s/%s: %w", errPodUnknown, req.Namespace, req.Name, err)
			return preq, snap, v, nil
		}
		target := h.accountClass(snap, req.Namespace, sa)
		if reason := escalation(who.class, target); reason != "" {
			v.reason, v.err = reason, fmt.Errorf("Pod %s/%s runs as service account %s/%s, which is %s", req.Namespace, req.Name, req.Namespace, sa, target)
			return preq, snap, v, nil
		}
	}
	switch connect := h.connect(); {
	case who.class != Person, connect == ConnectAllow:
		v.allowed = true
	default:
		// deny-people holds in every mode; judge leaves it to the mode.
		v.enforce = connect == ConnectDenyPeople
	}
	return preq, snap, v, nil
}

// podServiceAccount reads the service account the Pod of req runs as,
// within podLookupTimeout and the decision's timeout, on the wall clock
// (the API server's). A Pod whose spec names none runs as "default", as
// the API server's ServiceAccount admission sets it.
func (h *Handler) podServiceAccount(ctx context.Context, req *admission.Request) (string, error) {
	if h.Pods == nil {
		return "", errNoPodReader
	}
	timeout := podLookupTimeout
	if h.DecisionTimeout > 0 {
		timeout = min(timeout, h.DecisionTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sa, err := h.Pods.ServiceAccountOf(ctx, req.Namespace, req.Name)
	if err != nil {
		return "", err
	}
	if sa == "" {
		sa = "default"
	}
	return sa, nil
}

// connectKind is the kind a CONNECT reaches into: a Pod for pods/exec,
// attach, portforward (and proxy); for anything else the resource's name,
// which says no Pod is involved.
func connectKind(req *admission.Request) string {
	if req.Resource.Group == "" && req.Resource.Resource == "pods" {
		return "Pod"
	}
	return req.Resource.Resource
}

func (h *Handler) connect() Connect {
	if h.Connect == "" {
		return DefaultConnect
	}
	return h.Connect
}
