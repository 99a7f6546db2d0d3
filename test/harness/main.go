package harness

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// logTailLines is how much of gitgate's output Main prints after a failed
// test: enough for the last requests and syncs, short enough to read.
const logTailLines = 150

// Running is what a package's TestMain starts once for all its tests: the
// expensive parts (control plane, Git server, gitgate). Per-test state
// belongs in the tests.
type Running struct {
	// Logs returns gitgate's output so far; Main prints its tail when a
	// test failed. Leave it nil when the tests start their own gitgates
	// and log their output themselves.
	Logs func() string

	cleanups []func()
}

// Cleanup registers f to stop or remove something setup started. Main runs
// the functions in reverse order, as deferred calls run, after the tests or
// as soon as setup fails, so a setup that fails halfway leaves nothing
// running.
func (r *Running) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *Running) stop() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// Main is the body of an end-to-end package's TestMain: it runs setup,
// then the tests, prints the tail of gitgate's logs if a test failed, and
// stops what setup started. name prefixes setup errors. It returns the exit
// code rather than exiting, so TestMain reads
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m, "e2e", setup)) }
//
// `go test -list` lists the tests without running setup.
func Main(m *testing.M, name string, setup func(*Running) error) int {
	// gittestserver logs every Git request through the standard logger,
	// and controller-runtime complains once when no logger is set.
	log.SetOutput(io.Discard)
	ctrllog.SetLogger(logr.Discard())

	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run()
	}

	r := &Running{}
	// Deferred first, so it runs after r.stop has stopped every process.
	defer RemoveGitgateBuild()
	defer r.stop()
	if err := setup(r); err != nil {
		fmt.Fprintf(os.Stderr, "%s setup: %v\n", name, err)
		return 1
	}
	code := m.Run()
	if code != 0 && r.Logs != nil {
		fmt.Fprintf(os.Stderr, "--- %s: gitgate logs (last %d lines) ---\n%s\n", name, logTailLines, Tail(r.Logs(), logTailLines))
	}
	return code
}

// Tail is the last n lines of s, for a failure message.
func Tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		i = strings.LastIndexByte(s[:i], '\n')
		if i < 0 {
			return s
		}
	}
	if i == len(s) {
		return ""
	}
	return s[i+1:]
}

// Admit starts gitgate with opts (Kubeconfig defaults to cp's), stopped
// with run, and registers the project's webhook configuration for it:
// from then on every write to cp is judged. When a test fails, Main prints
// gitgate's logs and then more's, the logs of the parts under test.
func Admit(run *Running, cp *ControlPlane, opts GitgateOptions, more ...func() string) (*Gitgate, error) {
	if opts.Kubeconfig == "" {
		opts.Kubeconfig = cp.Kubeconfig
	}
	g, err := StartGitgate(opts)
	if err != nil {
		return nil, err
	}
	run.Cleanup(g.Stop)
	run.Logs = func() string {
		logs := g.Logs()
		for _, l := range more {
			logs += "\n" + l()
		}
		return logs
	}
	return g, RegisterWebhook(context.Background(), cp.Client, g.URL(), g.CA)
}

// StartTestControlPlane starts a control plane with opts, stopped with run, and
// readies it for a test as every package's setup does: kubectl for it,
// the test admins' rights (Person and the other test users), and the
// namespace gitgate's dry runs use.
func StartTestControlPlane(run *Running, opts ControlPlaneOptions) (*ControlPlane, *Kubectl, error) {
	cp, err := StartControlPlane(opts)
	if err != nil {
		return nil, nil, err
	}
	run.Cleanup(func() { _ = cp.Stop() })
	k, err := NewKubectl(cp.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	if err := GrantTestAdmins(k); err != nil {
		return nil, nil, err
	}
	return cp, k, CreateDryRunNamespace(k)
}
