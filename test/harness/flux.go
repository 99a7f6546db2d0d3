package harness

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// FluxNamespace is where Flux's controllers, their ServiceAccounts and the
// GitRepository and Kustomization objects live, as in a real install.
const FluxNamespace = "flux-system"

// Flux is a running source-controller and kustomize-controller (v1.9.6,
// built by hack/build-flux.sh), and helm-controller (v1.6.3) when asked
// for, each authenticated as its own ServiceAccount in flux-system, so that
// the API server and gitgate see the real identities
// system:serviceaccount:flux-system:kustomize-controller and
// system:serviceaccount:flux-system:helm-controller (Agent).
type Flux struct {
	Source, Kustomize *FluxController
	// Helm is helm-controller, nil unless FluxOptions.Helm asked for it.
	Helm *FluxController
	// Kubectl is the cluster admin that set Flux up and applies its objects.
	Kubectl *Kubectl
	// Dir holds the controllers' kubeconfigs and the artifact storage.
	Dir string
}

// FluxController is one controller process.
type FluxController struct {
	Name string
	// HealthAddr and MetricsAddr are the probe and metrics addresses.
	HealthAddr, MetricsAddr string
	cmd                     *exec.Cmd
	logs                    *syncBuffer
	done                    chan struct{}
}

// FluxOptions configure StartFlux.
type FluxOptions struct {
	// Kubeconfig is a cluster admin's; it sets up flux-system and mints the
	// controllers' tokens. The controllers themselves use their tokens.
	Kubeconfig string
	// SourceArgs, KustomizeArgs and HelmArgs are further flags for each
	// controller.
	SourceArgs, KustomizeArgs, HelmArgs []string
	// Helm also runs helm-controller, which installs HelmReleases.
	Helm bool
	// LogTo also receives both controllers' output, e.g. os.Stderr.
	LogTo io.Writer
}

// FluxBinDir is the folder that holds the controllers and, in flux-crds,
// their CRDs: BinDir, filled by hack/build-flux.sh.
func FluxBinDir() (string, error) {
	return binDirWith("hack/build-flux.sh", "source-controller", "kustomize-controller", "helm-controller", "flux-crds")
}

// InstallFluxCRDs applies Flux's source, kustomize and helm CRDs (server-side:
// they are too large for kubectl's last-applied annotation) and waits until
// the API server serves them.
func InstallFluxCRDs(k *Kubectl) error {
	dir, err := FluxBinDir()
	if err != nil {
		return err
	}
	crds := filepath.Join(dir, "flux-crds")
	if r := k.Run("", "apply", "--server-side", "--force-conflicts", "-f", crds); r.Failed() {
		return fmt.Errorf("apply Flux CRDs: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if r := k.Run("", "wait", "--for=condition=Established", "--timeout=60s", "-f", crds); r.Failed() {
		return fmt.Errorf("wait for Flux CRDs: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}

// fluxRBAC is what Flux's own install grants its controllers: the
// namespace, a ServiceAccount each, and cluster-admin.
const fluxRBAC = `
apiVersion: v1
kind: Namespace
metadata:
  name: flux-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: source-controller
  namespace: flux-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: kustomize-controller
  namespace: flux-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: helm-controller
  namespace: flux-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: flux-controllers
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: source-controller
  namespace: flux-system
- kind: ServiceAccount
  name: kustomize-controller
  namespace: flux-system
- kind: ServiceAccount
  name: helm-controller
  namespace: flux-system
`

// StartFlux installs the CRDs, the flux-system namespace and the
// controllers' ServiceAccounts, then runs both controllers and waits until
// they are ready. Everything it creates is written by the admin of
// opts.Kubeconfig, so start Flux before gitgate's webhook is registered, or
// have Git declare those objects. On error, what was started is stopped.
func StartFlux(opts FluxOptions) (*Flux, error) {
	k, err := NewKubectl(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := InstallFluxCRDs(k); err != nil {
		return nil, err
	}
	if r := k.Run(fluxRBAC, "apply", "-f", "-"); r.Failed() {
		return nil, fmt.Errorf("create flux-system and its ServiceAccounts: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	dir, err := os.MkdirTemp("", "gitgate-flux-")
	if err != nil {
		return nil, fmt.Errorf("create Flux's folder: %w", err)
	}
	f := &Flux{Kubectl: k, Dir: dir}
	if err := f.run(opts); err != nil {
		err = fmt.Errorf("%w\nFlux logs:\n%s", err, f.Logs())
		f.Stop()
		return nil, err
	}
	return f, nil
}

// run starts source-controller, with its artifact storage and server,
// kustomize-controller and, if asked, helm-controller, and waits until all
// are ready.
func (f *Flux) run(opts FluxOptions) error {
	storage := filepath.Join(f.Dir, "storage")
	if err := os.Mkdir(storage, 0o700); err != nil {
		return fmt.Errorf("create artifact storage: %w", err)
	}
	storageAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	// Artifact URLs use the advertised address; kustomize-controller
	// downloads from it, here on loopback.
	srcArgs := append([]string{"--storage-path", storage, "--storage-addr", storageAddr, "--storage-adv-addr", storageAddr}, opts.SourceArgs...)
	if f.Source, err = f.start("source-controller", srcArgs, opts.LogTo); err != nil {
		return err
	}
	if f.Kustomize, err = f.start("kustomize-controller", opts.KustomizeArgs, opts.LogTo); err != nil {
		return err
	}
	if opts.Helm {
		if f.Helm, err = f.start("helm-controller", opts.HelmArgs, opts.LogTo); err != nil {
			return err
		}
	}
	for _, c := range f.controllers() {
		if err := c.WaitReady(90 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// start runs one controller as its ServiceAccount, with every listener on
// a free loopback port and leader election off.
func (f *Flux) start(name string, args []string, logTo io.Writer) (*FluxController, error) {
	dir, err := FluxBinDir()
	if err != nil {
		return nil, err
	}
	kubeconfig, err := ServiceAccountKubeconfig(f.Kubectl, f.Dir, FluxNamespace, name)
	if err != nil {
		return nil, err
	}
	c := &FluxController{Name: name, logs: &syncBuffer{}, done: make(chan struct{})}
	if c.HealthAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if c.MetricsAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	args = append([]string{
		"--health-addr", c.HealthAddr,
		"--metrics-addr", c.MetricsAddr,
		"--enable-leader-election=false",
		"--watch-all-namespaces=true",
		"--log-encoding=console",
	}, args...)
	c.cmd = exec.Command(filepath.Join(dir, name), args...)
	// The controllers take no --kubeconfig flag; KUBECONFIG wins over any
	// inherited one because the last entry of a duplicate key is used.
	c.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "RUNTIME_NAMESPACE="+FluxNamespace)
	var out io.Writer = c.logs
	if logTo != nil {
		out = io.MultiWriter(c.logs, logTo)
	}
	c.cmd.Stdout, c.cmd.Stderr = out, out
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	return c, nil
}

// ServiceAccountToken mints a day-long token for ServiceAccount
// namespace/name with a TokenRequest (kubectl create token) as the admin
// of k. Whoever holds it acts as that service account: keep it out of logs.
func ServiceAccountToken(k *Kubectl, namespace, name string) (string, error) {
	r := k.Run("", "create", "token", name, "-n", namespace, "--duration", "24h")
	if r.Failed() {
		return "", fmt.Errorf("mint token for %s/%s: %s: %w\n%s", namespace, name, r.CommandLine(), r.Err, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// ServiceAccountKubeconfig mints a day-long token for ServiceAccount
// namespace/name and writes, into dir, a kubeconfig that authenticates
// with it alone: the real thing, not impersonation.
func ServiceAccountKubeconfig(k *Kubectl, dir, namespace, name string) (string, error) {
	token, err := ServiceAccountToken(k, namespace, name)
	if err != nil {
		return "", err
	}
	cfg, err := clientcmd.LoadFromFile(k.Kubeconfig)
	if err != nil {
		return "", fmt.Errorf("read admin kubeconfig: %w", err)
	}
	for n := range cfg.AuthInfos {
		cfg.AuthInfos[n] = &clientcmdapi.AuthInfo{Token: token}
	}
	path := filepath.Join(dir, namespace+"-"+name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("write kubeconfig for %s/%s: %w", namespace, name, err)
	}
	return path, nil
}

// WaitReady polls the controller's /readyz until it answers 200.
func (c *FluxController) WaitReady(timeout time.Duration) error {
	return waitReady(c.Name, c.HealthAddr, "/readyz", c.done, timeout)
}

// Logs is everything the controller printed so far.
func (c *FluxController) Logs() string { return c.logs.String() }

// Exited reports whether the process has ended.
func (c *FluxController) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stop interrupts the controller and kills it if it has not ended after
// ten seconds.
func (c *FluxController) Stop() {
	if c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// controllers are the controllers started, source-controller first.
func (f *Flux) controllers() []*FluxController {
	var cs []*FluxController
	for _, c := range []*FluxController{f.Source, f.Kustomize, f.Helm} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// Logs is every controller's output, one after the other.
func (f *Flux) Logs() string {
	var b strings.Builder
	for _, c := range f.controllers() {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", c.Name, c.Logs())
	}
	return b.String()
}

// Stop ends the controllers, source-controller last, and removes their
// files. The objects in the cluster stay.
func (f *Flux) Stop() {
	cs := f.controllers()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i].Stop()
	}
	_ = os.RemoveAll(f.Dir)
}

// FluxSync is a GitRepository and a Kustomization of the same name in
// flux-system: the Kustomization applies Path of the repository's Branch,
// with prune: true, so that deleting a file from Git deletes its objects.
type FluxSync struct {
	// Name names both objects; "fleet" if empty.
	Name string
	// URL is the repository over http(s) or ssh, e.g. GitServer.HTTPURL().
	URL string
	// Branch defaults to "main", Path to "./".
	Branch, Path string
	// Interval is how often both objects reconcile; 2s if zero.
	Interval time.Duration
	// Username and Password, if set, go into a Secret for HTTP basic auth.
	Username, Password string
}

func (s FluxSync) withDefaults() FluxSync {
	if s.Name == "" {
		s.Name = "fleet"
	}
	if s.Branch == "" {
		s.Branch = "main"
	}
	if s.Path == "" {
		s.Path = "./"
	}
	if s.Interval == 0 {
		s.Interval = 2 * time.Second
	}
	return s
}

// YAML renders the objects (and the auth Secret, if any), e.g. for kubectl
// or to commit them to Git so that Flux manages itself.
func (s FluxSync) YAML() string {
	s = s.withDefaults()
	var b strings.Builder
	secretRef := ""
	if s.Username != "" {
		secretRef = fmt.Sprintf("\n  secretRef:\n    name: %s-auth", s.Name)
		fmt.Fprintf(&b, fluxAuthSecret, s.Name, FluxNamespace, s.Username, s.Password)
	}
	// The Kustomization's timeout would default to its short interval.
	fmt.Fprintf(&b, fluxSyncObjects, s.Name, FluxNamespace, s.Interval, s.URL, s.Branch, secretRef,
		s.Name, FluxNamespace, s.Interval, s.Path, s.Name)
	return b.String()
}

const fluxAuthSecret = `---
apiVersion: v1
kind: Secret
metadata:
  name: %s-auth
  namespace: %s
stringData:
  username: %q
  password: %q
`

const fluxSyncObjects = `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %s
  namespace: %s
spec:
  interval: %s
  timeout: 30s
  url: %q
  ref:
    branch: %q%s
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: %s
  retryInterval: 2s
  timeout: 1m
  path: %q
  prune: true
  sourceRef:
    kind: GitRepository
    name: %s
`

// ApplySync creates or updates the sync's objects as the admin.
func (f *Flux) ApplySync(s FluxSync) error {
	if r := f.Kubectl.Run(s.YAML(), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("apply Flux sync %s: %s: %w\n%s", s.withDefaults().Name, r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}

// Reconcile asks source-controller and kustomize-controller to reconcile
// the sync named name now, as `flux reconcile kustomization --with-source`
// does, instead of at the next interval.
func (f *Flux) Reconcile(name string) error {
	now := "reconcile.fluxcd.io/requestedAt=" + time.Now().Format(time.RFC3339Nano)
	for _, kind := range []string{"gitrepository", "kustomization"} {
		r := f.Kubectl.Run("", "annotate", "--overwrite", "-n", FluxNamespace, kind, name, now)
		if r.Failed() {
			return fmt.Errorf("request reconcile of %s %s: %s: %w\n%s", kind, name, r.CommandLine(), r.Err, r.Stderr)
		}
	}
	return nil
}

// KustomizationStatus is what a Kustomization reports about its last
// reconciliation.
type KustomizationStatus struct {
	// Ready is the Ready condition's status: "True", "False", "Unknown" or
	// empty before the first reconciliation.
	Ready, Reason, Message string
	// LastAppliedRevision is e.g. "main@sha1:<commit>".
	LastAppliedRevision string
}

// KustomizationStatus reads the Kustomization named name.
func (f *Flux) KustomizationStatus(name string) (KustomizationStatus, error) {
	const path = `{.status.lastAppliedRevision}{"\n"}{range .status.conditions[?(@.type=="Ready")]}{.status}{"\n"}{.reason}{"\n"}{.message}{end}`
	r := f.Kubectl.Run("", "get", "kustomization", name, "-n", FluxNamespace, "-o", "jsonpath="+path)
	if r.Failed() {
		return KustomizationStatus{}, fmt.Errorf("read Kustomization %s: %s: %w\n%s", name, r.CommandLine(), r.Err, r.Stderr)
	}
	parts := strings.SplitN(r.Stdout, "\n", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	return KustomizationStatus{LastAppliedRevision: parts[0], Ready: parts[1], Reason: parts[2], Message: parts[3]}, nil
}

// WaitApplied polls the Kustomization named name until it is Ready and has
// applied commit (a full SHA; empty accepts any revision).
func (f *Flux) WaitApplied(name, commit string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := f.KustomizationStatus(name)
		if err == nil && st.Ready == "True" && (commit == "" || strings.HasSuffix(st.LastAppliedRevision, ":"+commit)) {
			return nil
		}
		if f.Kustomize != nil && f.Kustomize.Exited() {
			return errors.New("kustomize-controller exited")
		}
		if time.Now().After(deadline) && err != nil {
			return fmt.Errorf("kustomization %s has not applied %q after %s: %w", name, commit, timeout, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kustomization %s has not applied %q after %s: ready=%q reason=%q revision=%q: %s",
				name, commit, timeout, st.Ready, st.Reason, st.LastAppliedRevision, st.Message)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
