package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gitgate/gitgate/test/harness"
)

// systemIdentity tells the identities that run the cluster: the API
// server, the controller manager (itself, and each controller's service
// account in kube-system), the scheduler, kubelets (and kwok, which stands
// in for them as its service account in kube-system). gitgate must never
// refuse them: a refused controller stalls the cluster.
func systemIdentity(user string, groups []string) bool {
	switch {
	case user == "system:apiserver", user == harness.ControllerManagerUser, user == harness.SchedulerUser,
		user == harness.KwokUser,
		strings.HasPrefix(user, "system:serviceaccount:kube-system:"),
		strings.HasPrefix(user, "system:node:"),
		slices.Contains(groups, "system:nodes"):
		return true
	}
	return false
}

// record is the part of a gitgate audit record the tests read.
type record struct {
	Time      time.Time `json:"time"`
	Decision  string    `json:"decision"`
	Reason    string    `json:"reason"`
	Class     string    `json:"class"`
	User      string    `json:"user"`
	Groups    []string  `json:"groups"`
	Operation string    `json:"operation"`
	Kind      string    `json:"kind"`
	Sub       string    `json:"subresource"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Fields    []string  `json:"fields"`
}

func (r record) String() string {
	return fmt.Sprintf("%s %s %s %s%s %s/%s by %s %v (%s, %s, fields %v)", r.Time.Format(time.RFC3339Nano), r.Decision,
		r.Operation, r.Kind, subSuffix(r.Sub), r.Namespace, r.Name, r.User, r.Groups, r.Reason, r.Class, r.Fields)
}

func subSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}

// auditRecords reads gitgate's audit file and its rotated backups.
func auditRecords(t *testing.T) []record {
	t.Helper()
	files, err := filepath.Glob(env.auditFile + "*")
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue
			}
			var r record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: a line is not one JSON record: %v: %q", f, err, line)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

// apiEvent is the part of an API server audit event the tests read.
type apiEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"impersonatedUser"`
	ObjectRef struct {
		APIGroup, Resource, Subresource, Namespace, Name string
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"responseStatus"`
	Annotations    map[string]string `json:"annotations"`
	StageTimestamp time.Time         `json:"stageTimestamp"`
}

// caller is who the API server acted for: the impersonated user, if any.
func (e apiEvent) caller() (string, []string) {
	if e.ImpersonatedUser != nil {
		return e.ImpersonatedUser.Username, e.ImpersonatedUser.Groups
	}
	return e.User.Username, e.User.Groups
}

func (e apiEvent) String() string {
	user, groups := e.caller()
	return fmt.Sprintf("%s %s %s%s %s/%s by %s %v: %d %s", e.StageTimestamp.Format(time.RFC3339Nano), e.Verb, e.ObjectRef.Resource,
		subSuffix(e.ObjectRef.Subresource), e.ObjectRef.Namespace, e.ObjectRef.Name, user, groups, e.ResponseStatus.Code, e.ResponseStatus.Message)
}

// apiEvents reads the API server's audit log for the requests since then
// that keep holds for, at their last stage.
func apiEvents(t *testing.T, since time.Time, keep func(apiEvent) bool) []apiEvent {
	t.Helper()
	f, err := os.Open(env.apiAuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []apiEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e apiEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Stage != "ResponseComplete" || e.ResponseStatus == nil {
			continue
		}
		// The log keeps microseconds.
		if !e.StageTimestamp.Before(since.Truncate(time.Microsecond)) && keep(e) {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", env.apiAuditLog, err)
	}
	return out
}

// webhookRefusals reads the API server's audit log for requests gitgate's
// webhook refused since then: denied by gitgate, or failed because the API
// server could not get an answer (the webhook fails closed). The second
// kind never reaches gitgate's own audit trail.
func webhookRefusals(t *testing.T, since time.Time) []apiEvent {
	t.Helper()
	return apiEvents(t, since, func(e apiEvent) bool {
		return e.ResponseStatus.Code >= 400 && (strings.Contains(e.ResponseStatus.Message, `"validate.gitgate.dev"`) ||
			e.Annotations["validate.gitgate.dev/decision"] == "denied")
	})
}

// writes are the verbs that change objects, which
// TestNoSystemIdentityIsEverRefused counts.
var writes = []string{"create", "update", "patch", "delete", "deletecollection"}

// wantActed checks that user made a successful request since then with
// one of verbs on resource[/sub] in ns, named name (any name when empty:
// a create by generateName is logged without one).
func wantActed(t *testing.T, since time.Time, user string, verbs []string, resource, sub, ns, name string) {
	t.Helper()
	var callers []string
	events := apiEvents(t, since, func(e apiEvent) bool {
		return e.ResponseStatus.Code < 300 && slices.Contains(verbs, e.Verb) && e.ObjectRef.Resource == resource &&
			e.ObjectRef.Subresource == sub && e.ObjectRef.Namespace == ns && (name == "" || e.ObjectRef.Name == name)
	})
	for _, e := range events {
		u, _ := e.caller()
		if u == user {
			return
		}
		callers = append(callers, u)
	}
	t.Errorf("%s made no successful %v of %s%s %s/%s; the API server's audit log has it by %v", user, verbs, resource, subSuffix(sub), ns, name, callers)
}

// systemRefusals is every refusal of a system identity since then, in
// gitgate's audit trail (any decision: in enforce mode a record is a
// refusal) and in the API server's audit log.
func systemRefusals(t *testing.T, since time.Time) []string {
	t.Helper()
	var out []string
	for _, r := range auditRecords(t) {
		if !r.Time.Before(since) && systemIdentity(r.User, r.Groups) {
			out = append(out, "gitgate audit: "+r.String())
		}
	}
	for _, e := range webhookRefusals(t, since) {
		if user, groups := e.caller(); systemIdentity(user, groups) {
			out = append(out, "API server audit: "+e.String())
		}
	}
	return out
}

// noSystemRefusals fails t, when it ends, if gitgate refused a system
// identity while it ran: whatever a test makes the controllers, the
// scheduler and kwok do must get through.
func noSystemRefusals(t *testing.T) {
	t.Helper()
	since := time.Now()
	t.Cleanup(func() {
		// gitgate writes records from a queue; give the last ones time to
		// land.
		time.Sleep(500 * time.Millisecond)
		for _, s := range systemRefusals(t, since) {
			t.Errorf("a system identity was refused: %s", s)
		}
	})
}

// webhookSees returns whether gitgate would judge a request but for the
// caller's identity: the shipped webhook configuration's rules and
// namespaceSelector send it, and it is not about cluster infrastructure
// (the matchConditions then skip exempt identities and agents).
func webhookSees(t *testing.T) func(apiEvent) bool {
	t.Helper()
	vwc, err := harness.ShippedWebhook()
	if err != nil {
		t.Fatal(err)
	}
	return func(e apiEvent) bool { return sentBy(vwc, e) }
}

func sentBy(vwc *admissionregistrationv1.ValidatingWebhookConfiguration, e apiEvent) bool {
	if infrastructure(e) {
		return false
	}
	op := map[string]admissionregistrationv1.OperationType{
		"create": admissionregistrationv1.Create, "update": admissionregistrationv1.Update, "patch": admissionregistrationv1.Update,
		"delete": admissionregistrationv1.Delete, "deletecollection": admissionregistrationv1.Delete,
	}[e.Verb]
	resource := e.ObjectRef.Resource + subSuffix(e.ObjectRef.Subresource)
	for _, w := range vwc.Webhooks {
		if e.ObjectRef.Namespace != "" && !namespaceSelected(w.NamespaceSelector, e.ObjectRef.Namespace) {
			continue
		}
		for _, r := range w.Rules {
			ops := slices.Contains(r.Operations, op) || slices.Contains(r.Operations, admissionregistrationv1.OperationAll)
			wildcard := "*"
			if e.ObjectRef.Subresource != "" {
				wildcard = "*/" + e.ObjectRef.Subresource
			}
			if ops && (slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, wildcard)) {
				return true
			}
		}
	}
	return false
}

// infrastructure tells the resources gitgate allows unjudged, whoever asks
// (the defaults of --skip-resource; the webhook's
// skip-cluster-infrastructure matchCondition).
func infrastructure(e apiEvent) bool {
	g, r := e.ObjectRef.APIGroup, e.ObjectRef.Resource
	return g == "" && (r == "nodes" || r == "events") || g == "events.k8s.io" && r == "events" ||
		g == "coordination.k8s.io" || g == "certificates.k8s.io" && r == "certificatesigningrequests" ||
		g == "authentication.k8s.io" || g == "authorization.k8s.io"
}

// namespaceSelected evaluates the shipped namespaceSelector, which selects
// by kubernetes.io/metadata.name (the Namespace's name) alone.
func namespaceSelected(sel *metav1.LabelSelector, ns string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set{"kubernetes.io/metadata.name": ns})
}

// TestNoSystemIdentityIsEverRefused reads gitgate's whole audit trail and
// the API server's audit log since the cluster started: no request of the
// controllers, the scheduler, kwok or the API server was refused, while
// they did make writes that the webhook's rules and namespaceSelector send
// to gitgate (its matchConditions then skip them), and a person's refusal
// shows up in both logs (so the logs are read and can fail the test).
func TestNoSystemIdentityIsEverRefused(t *testing.T) {
	applyFleet(t)
	since := time.Now()
	r := env.kubectl.Run("", "scale", "deployment/worker", "-n", "batch", "--replicas=3", "--as", person)
	wantDenied(t, r)
	eventually(t, 10*time.Second, "the refused scale in gitgate's audit trail", func() (bool, string) {
		for _, rec := range auditRecords(t) {
			if !rec.Time.Before(since) && rec.User == person && rec.Name == "worker" && rec.Sub == "scale" && rec.Decision == "denied" {
				return true, ""
			}
		}
		return false, "no record"
	})
	var seen bool
	for _, e := range webhookRefusals(t, since) {
		if u, _ := e.caller(); u == person && e.ObjectRef.Name == "worker" {
			seen = true
		}
	}
	if !seen {
		t.Errorf("the API server's audit log has no refusal of %s's scale of batch/worker", person)
	}

	for _, s := range systemRefusals(t, time.Time{}) {
		t.Errorf("a system identity was refused: %s", s)
	}

	byUser, byResource := map[string]int{}, map[string]int{}
	sees := webhookSees(t)
	for _, e := range apiEvents(t, time.Time{}, func(e apiEvent) bool {
		u, g := e.caller()
		return e.ResponseStatus.Code < 300 && slices.Contains(writes, e.Verb) && systemIdentity(u, g) && sees(e)
	}) {
		u, _ := e.caller()
		byUser[u]++
		byResource[u+" "+e.Verb+" "+e.ObjectRef.Resource+subSuffix(e.ObjectRef.Subresource)]++
	}
	// Those a rollout needs (applyFleet above); the garbage collector and
	// the namespace controller act in the prune tests, which check their
	// own span. The scheduler is not among them: it writes bindings
	// (pods/binding), Events and Leases, which gitgate is never sent or
	// never judges.
	for _, u := range []string{
		"system:serviceaccount:kube-system:deployment-controller",
		"system:serviceaccount:kube-system:replicaset-controller",
		harness.KwokUser,
	} {
		if byUser[u] == 0 {
			t.Errorf("%s made no write gitgate would judge but for its identity; such writes by system identities: %v", u, byUser)
		}
	}
	t.Logf("successful writes by system identities that gitgate would judge but for the caller's identity: %v", byResource)
}
