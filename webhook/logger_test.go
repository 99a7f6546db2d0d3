package webhook

import (
	"errors"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TestRequestLoggerWritesAsDefault: the lazy per-request logger writes the
// same lines as controller-runtime's, whatever is called on it.
func TestRequestLoggerWritesAsDefault(t *testing.T) {
	req := &admission.Request{}
	req.UID, req.Namespace, req.Name = "uid-1", "shop", "web"
	req.Resource = metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	req.UserInfo = authenticationv1.UserInfo{Username: "dev-user"}
	use := map[string]func(logr.Logger){
		"info":   func(l logr.Logger) { l.Info("decided", "allowed", true) },
		"error":  func(l logr.Logger) { l.Error(errors.New("boom"), "failed") },
		"values": func(l logr.Logger) { l.WithValues("k", "v").Info("x") },
		"name":   func(l logr.Logger) { l.WithName("sub").Info("x") },
		"level":  func(l logr.Logger) { l.V(5).Info("hidden") },
	}
	for name, f := range use {
		t.Run(name, func(t *testing.T) {
			var got, want []string
			capture := func(lines *[]string) logr.Logger {
				return funcr.New(func(prefix, args string) { *lines = append(*lines, prefix+" "+args) }, funcr.Options{Verbosity: 1})
			}
			f(requestLogger(capture(&got), req))
			f(admission.DefaultLogConstructor(capture(&want), req))
			if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
				t.Errorf("lazy logger wrote %q, controller-runtime's %q", got, want)
			}
		})
	}
}
