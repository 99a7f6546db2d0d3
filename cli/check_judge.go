package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/offlinescope"
	"github.com/gitgate/gitgate/webhook"
)

// reasonUnknownKind: gitgate check cannot place an object whose kind is
// neither built in nor defined by a CRD in the source, so it gives no
// verdict rather than guess its scope.
const reasonUnknownKind = "unknown-kind"

// errOffline is why `gitgate check` cannot hold a person's create of a
// declared object to the API server's defaults: the webhook learns them
// with a dry run, and check has no cluster. The verdict says so
// (defaults-unknown) instead of guessing.
var errOffline = errors.New("gitgate check runs without a cluster to dry-run it")

// checkVerdict is the webhook's answer to one request, as check prints it.
type checkVerdict struct {
	Operation  string   `json:"operation"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name"`
	Allowed    bool     `json:"allowed"`
	Reason     string   `json:"reason"`
	Message    string   `json:"message,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// checkRequest is one object to judge, with its old version on update.
type checkRequest struct {
	op       admissionv1.Operation
	obj, old map[string]any
}

// judge is the webhook's decision code over a source, without a server.
type judge struct {
	handler *webhook.Handler
	scope   *offlinescope.Scope
	user    authenticationv1.UserInfo
	// namespace places namespaced objects that name none, as kubectl -n.
	namespace string
}

// offlineDefaults is the Defaulter of check: it never knows.
type offlineDefaults struct{}

func (offlineDefaults) Defaulted(context.Context, *provenance.Entry, provenance.Revision) (map[string]any, error) {
	return nil, errOffline
}

// decide runs one request through the handler.
func (j *judge) decide(ctx context.Context, r checkRequest) checkVerdict {
	subject := r.obj
	if subject == nil {
		subject = r.old
	}
	v := describe(r.op, subject)
	gvk := schema.FromAPIVersionAndKind(v.APIVersion, v.Kind)
	kind, ok := j.scope.Lookup(gvk.GroupKind())
	if !ok {
		v.Reason = reasonUnknownKind
		v.Message = fmt.Sprintf("gitgate check: unknown kind %s: neither built in nor defined by a CustomResourceDefinition in the source, so its scope is unknown offline and no verdict is given.", gvk.GroupKind())
		return v
	}
	v.Namespace = j.place(kind, r.obj, r.old)
	req, err := j.admissionRequest(r, gvk, kind, v)
	if err != nil {
		v.Reason, v.Message = "bad-request", err.Error()
		return v
	}
	d := j.handler.Decide(logf.IntoContext(ctx, logr.Discard()), req)
	v.Allowed, v.Warnings, v.Reason = d.Allowed, d.Warnings, string(d.Reason)
	if !d.Allowed {
		v.Message = d.Message
	}
	return v
}

// place sets the namespace of namespaced objects that name none, as the
// API server would, and clears it on cluster-scoped ones.
func (j *judge) place(kind offlinescope.Kind, objs ...map[string]any) string {
	ns := ""
	for _, obj := range objs {
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			obj["metadata"] = meta
		}
		cur, _ := meta["namespace"].(string)
		switch {
		case !kind.Namespaced:
			delete(meta, "namespace")
		case cur == "":
			meta["namespace"] = j.namespace
			ns = j.namespace
		default:
			ns = cur
		}
	}
	return ns
}

func (j *judge) admissionRequest(r checkRequest, gvk schema.GroupVersionKind, kind offlinescope.Kind, v checkVerdict) (admission.Request, error) {
	var raw, oldRaw []byte
	var err error
	if r.op != admissionv1.Delete {
		if raw, err = json.Marshal(r.obj); err != nil {
			return admission.Request{}, err
		}
	}
	if r.old != nil {
		if oldRaw, err = json.Marshal(r.old); err != nil {
			return admission.Request{}, err
		}
	}
	ns := v.Namespace
	if gvk.Group == "" && gvk.Kind == "Namespace" {
		ns = v.Name // as the API server sends it
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "gitgate-check",
		Kind:      metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: kind.Resource},
		Name:      v.Name,
		Namespace: ns,
		Operation: r.op,
		UserInfo:  j.user,
		Object:    runtime.RawExtension{Raw: raw},
		OldObject: runtime.RawExtension{Raw: oldRaw},
	}}, nil
}

func describe(op admissionv1.Operation, obj map[string]any) checkVerdict {
	v := checkVerdict{Operation: string(op)}
	v.APIVersion, _ = obj["apiVersion"].(string)
	v.Kind, _ = obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	v.Name, _ = meta["name"].(string)
	v.Namespace, _ = meta["namespace"].(string)
	return v
}
