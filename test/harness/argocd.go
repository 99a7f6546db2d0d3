package harness

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// The real Argo CD (v3.6.2, built by hack/build-argocd.sh) as its own
// install lays it out: namespace argocd, one ServiceAccount per component.
const (
	// ArgoCDNamespace holds Argo CD's components, settings, cluster
	// Secrets, AppProjects, Applications and ApplicationSets.
	ArgoCDNamespace = "argocd"
	// ArgoCDAgent is the application controller: it applies what an
	// Application declares, and gitgate knows it as a default agent.
	ArgoCDAgent = "system:serviceaccount:argocd:argocd-application-controller"
	// ArgoCDApplicationSetController creates, updates and deletes the
	// Applications an ApplicationSet generates.
	ArgoCDApplicationSetController = "system:serviceaccount:argocd:argocd-applicationset-controller"
	// ArgoCDCluster is the name of the cluster Secret that points Argo CD at
	// the test API server: an Application's spec.destination.name.
	ArgoCDCluster = "gitgate-test"
)

// ArgoCD is a running Argo CD: redis, the repo server, the application
// controller and the ApplicationSet controller, all on loopback. The
// controllers authenticate with tokens of their own ServiceAccounts, so
// the API server and gitgate see the real identities (ArgoCDAgent,
// ArgoCDApplicationSetController).
type ArgoCD struct {
	Redis, RepoServer, Controller, ApplicationSet *Process
	// RepoServerAddr is the repo server's gRPC address (plaintext).
	RepoServerAddr string
	// Kubectl is the cluster admin that set Argo CD up.
	Kubectl *Kubectl
	// Dir holds the kubeconfigs, redis's configuration and every
	// component's home and temporary folder.
	Dir string

	bin, redisAddr, redisPassword string
}

// ArgoCDOptions configure StartArgoCD.
type ArgoCDOptions struct {
	// Kubeconfig is a cluster admin's; it installs Argo CD and mints its
	// tokens. The components themselves use their tokens.
	Kubeconfig string
	// RepoServerArgs, ControllerArgs and ApplicationSetArgs are further
	// flags for each component; they win over the harness's own.
	RepoServerArgs, ControllerArgs, ApplicationSetArgs []string
	// LogTo also receives every component's output, e.g. os.Stderr.
	LogTo io.Writer
}

// ArgoCDBinDir is the folder that holds argocd, kustomize,
// git-verify-wrapper.sh and, in argocd-crds, Argo CD's CRDs: BinDir,
// filled by hack/build-argocd.sh. helm comes from hack/build-helm.sh.
func ArgoCDBinDir() (string, error) {
	return binDirWith("hack/build-argocd.sh and hack/build-helm.sh", "argocd", "kustomize", "git-verify-wrapper.sh", "argocd-crds", "helm")
}

// InstallArgoCDCRDs applies the Application, ApplicationSet and AppProject
// CRDs (server-side: they are too large for kubectl's last-applied
// annotation) and waits until the API server serves them.
func InstallArgoCDCRDs(k *Kubectl) error {
	dir, err := ArgoCDBinDir()
	if err != nil {
		return err
	}
	crds := filepath.Join(dir, "argocd-crds")
	if r := k.Run("", "apply", "--server-side", "--force-conflicts", "-f", crds); r.Failed() {
		return fmt.Errorf("apply Argo CD CRDs: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	// kubectl wait fails at once on a CRD that has no conditions yet, as
	// one just created may not.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := k.Run("", "wait", "--for=condition=Established", "--timeout=10s", "-f", crds)
		if !r.Failed() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for Argo CD CRDs: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StartArgoCD installs the CRDs, namespace argocd, the components'
// ServiceAccounts and rights, argocd-cm, argocd-secret, the default
// AppProject and the cluster Secret ArgoCDCluster, then runs redis and the
// three components and waits until each is ready. Everything it creates is
// written by the admin of opts.Kubeconfig, so start Argo CD before
// gitgate's webhook is registered. On error, what was started is stopped.
func StartArgoCD(opts ArgoCDOptions) (*ArgoCD, error) {
	bin, err := ArgoCDBinDir()
	if err != nil {
		return nil, err
	}
	k, err := NewKubectl(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := InstallArgoCDCRDs(k); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitgate-argocd-")
	if err != nil {
		return nil, fmt.Errorf("create Argo CD's folder: %w", err)
	}
	a := &ArgoCD{Kubectl: k, Dir: dir, bin: bin}
	if err := a.install(); err != nil {
		a.Stop()
		return nil, err
	}
	if err := a.run(opts); err != nil {
		err = fmt.Errorf("%w\nArgo CD logs:\n%s", err, a.Logs())
		a.Stop()
		return nil, err
	}
	return a, nil
}

// argoCDRBAC is the namespace and the controllers' ServiceAccounts. Argo
// CD's own install gives the application controller every verb on every
// resource; the ApplicationSet controller gets cluster-admin here too, for
// brevity: only gitgate is under test. The repo server talks to no API
// server.
const argoCDRBAC = `
apiVersion: v1
kind: Namespace
metadata:
  name: argocd
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: argocd-application-controller
  namespace: argocd
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: argocd-applicationset-controller
  namespace: argocd
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: argocd-controllers
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: argocd-application-controller
  namespace: argocd
- kind: ServiceAccount
  name: argocd-applicationset-controller
  namespace: argocd
`

// argoCDSettings is argocd-cm and the default AppProject. Argo CD reads
// only ConfigMaps and Secrets labelled part-of argocd. The in-cluster
// cluster (https://kubernetes.default.svc) is off: nothing resolves that
// name here, and every Application names the cluster Secret instead.
const argoCDSettings = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
  cluster.inClusterEnabled: "false"
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations:
  - {name: "*", server: "*", namespace: "*"}
  clusterResourceWhitelist:
  - {group: "*", kind: "*"}
`

// install creates what Argo CD's components read at start.
func (a *ArgoCD) install() error {
	if r := a.Kubectl.Run(argoCDRBAC+"---"+argoCDSettings, "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("install Argo CD's namespace, accounts and settings: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	secrets, err := a.secrets()
	if err != nil {
		return err
	}
	// create, not apply: apply would copy the Secrets' data, the token
	// among it, into the last-applied annotation.
	if r := a.Kubectl.Run(secrets, "create", "-f", "-"); r.Failed() {
		return fmt.Errorf("create Argo CD's Secrets: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}

// secrets renders argocd-secret (a random server key, which Argo CD's
// settings require) and the cluster Secret ArgoCDCluster: the API
// server's URL and CA, and a token of the application controller's
// ServiceAccount, so that it acts as ArgoCDAgent toward the cluster it
// syncs as well as toward its own API server.
func (a *ArgoCD) secrets() (string, error) {
	server, ca, err := apiServer(a.Kubectl.Kubeconfig)
	if err != nil {
		return "", err
	}
	token, err := ServiceAccountToken(a.Kubectl, ArgoCDNamespace, "argocd-application-controller")
	if err != nil {
		return "", err
	}
	config, err := json.Marshal(map[string]any{
		"bearerToken":     token,
		"tlsClientConfig": map[string]any{"insecure": false, "caData": ca},
	})
	if err != nil {
		return "", err
	}
	partOf := map[string]string{"app.kubernetes.io/part-of": "argocd"}
	cluster := map[string]string{"argocd.argoproj.io/secret-type": "cluster"}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
		secret("argocd-secret", partOf, map[string]string{"server.secretkey": randomHex()}),
		secret("cluster-"+ArgoCDCluster, cluster, map[string]string{"name": ArgoCDCluster, "server": server, "config": string(config)}),
	}}
	out, err := json.Marshal(list)
	return string(out), err
}

func secret(name string, labels, data map[string]string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata":   map[string]any{"name": name, "namespace": ArgoCDNamespace, "labels": labels},
		"stringData": data,
	}
}

// apiServer reads the URL and CA of the current cluster of a kubeconfig.
func apiServer(kubeconfig string) (string, []byte, error) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return "", nil, fmt.Errorf("read admin kubeconfig: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok || cfg.Clusters[ctx.Cluster] == nil {
		return "", nil, fmt.Errorf("%s: no current cluster", kubeconfig)
	}
	c := cfg.Clusters[ctx.Cluster]
	return c.Server, c.CertificateAuthorityData, nil
}

// randomHex is 32 random bytes in hex, for passwords and keys.
func randomHex() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b)
}

// run starts redis, the repo server, the application controller and the
// ApplicationSet controller, in that order, each once the one before is
// ready.
func (a *ArgoCD) run(opts ArgoCDOptions) error {
	for _, c := range []struct {
		start func() error
		proc  func() *Process
	}{
		{func() error { return a.startRedis(opts.LogTo) }, func() *Process { return a.Redis }},
		{func() error { return a.startRepoServer(opts.RepoServerArgs, opts.LogTo) }, func() *Process { return a.RepoServer }},
		{func() error { return a.startController(opts.ControllerArgs, opts.LogTo) }, func() *Process { return a.Controller }},
		{func() error { return a.startApplicationSet(opts.ApplicationSetArgs, opts.LogTo) }, func() *Process { return a.ApplicationSet }},
	} {
		if err := startPortsAnew(c.start, c.proc); err != nil {
			return err
		}
	}
	return nil
}

// startPortsAnew runs start, and again (three times at most, on the new
// free ports start picks) when the process it started exited because a
// port was taken: test packages run in parallel, and another's process
// may bind a port between FreePort and this one's bind.
func startPortsAnew(start func() error, proc func() *Process) error {
	for attempt := 1; ; attempt++ {
		err := start()
		p := proc()
		if err == nil || attempt == 3 || p == nil || !p.Exited() ||
			!strings.Contains(strings.ToLower(p.Logs()), "address already in use") {
			return err
		}
	}
}

// startRedis runs Debian's redis-server on a loopback port, with a
// password, without persistence: Argo CD's cache.
func (a *ArgoCD) startRedis(logTo io.Writer) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not found: apt-get install redis-server (.ci/run does): %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	a.redisAddr = fmt.Sprintf("127.0.0.1:%d", port)
	a.redisPassword = randomHex()
	// The password goes into a file, not onto the command line.
	conf := filepath.Join(a.Dir, "redis.conf")
	content := fmt.Sprintf("bind 127.0.0.1\nport %d\nprotected-mode yes\nsave \"\"\nappendonly no\ndir %s\nrequirepass %s\n",
		port, a.Dir, a.redisPassword)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write redis.conf: %w", err)
	}
	if a.Redis, err = startProcess("redis-server", bin, []string{conf}, logTo); err != nil {
		return err
	}
	return waitRedis(a.Redis, a.redisAddr, a.redisPassword, 30*time.Second)
}

// componentEnv is what every Argo CD component gets: which command of the
// multi-call binary to run, a home and temporary folder of its own, the
// built tools first on PATH (helm, kustomize, git-verify-wrapper.sh, and
// argocd itself, which git runs as its askpass helper), and redis's
// password.
func (a *ArgoCD) componentEnv(command string) ([]string, error) {
	home := filepath.Join(a.Dir, command)
	tmp := filepath.Join(home, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create %s's folder: %w", command, err)
	}
	return []string{
		"ARGOCD_BINARY_NAME=" + command,
		"HOME=" + home,
		"TMPDIR=" + tmp,
		"PATH=" + a.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"REDIS_PASSWORD=" + a.redisPassword,
	}, nil
}

// startRepoServer runs the repo server on loopback without TLS, its
// known-hosts, TLS-certificate and GnuPG folders writable temporary ones,
// and signature verification off.
func (a *ArgoCD) startRepoServer(args []string, logTo io.Writer) error {
	env, err := a.componentEnv("argocd-repo-server")
	if err != nil {
		return err
	}
	for _, v := range []string{"ARGOCD_SSH_DATA_PATH", "ARGOCD_TLS_DATA_PATH", "ARGOCD_GNUPGHOME"} {
		d := filepath.Join(a.Dir, "argocd-repo-server", strings.ToLower(v))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", v, err)
		}
		env = append(env, v+"="+d)
	}
	env = append(env, "ARGOCD_GPG_ENABLED=false")
	if a.RepoServerAddr, err = FreeAddr(); err != nil {
		return err
	}
	metrics, err := FreeAddr()
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(a.RepoServerAddr, ":")
	mhost, mport, _ := strings.Cut(metrics, ":")
	args = append([]string{
		"--address", host, "--port", port, "--metrics-address", mhost, "--metrics-port", mport,
		"--disable-tls", "--client-ca-path=", "--redis", a.redisAddr, "--logformat", "text",
	}, args...)
	if a.RepoServer, err = startProcessEnv("argocd-repo-server", filepath.Join(a.bin, "argocd"), args, env, logTo); err != nil {
		return err
	}
	return waitReady(a.RepoServer.Name, metrics, "/healthz", a.RepoServer.done, 90*time.Second)
}

// startController runs the application controller as its ServiceAccount.
// Its metrics and health server takes only a port and listens on every
// interface: Argo CD v3.6.2 has no flag or environment variable for the
// address (controller/appcontroller.go: metricsAddr :=
// fmt.Sprintf("0.0.0.0:%d", metricsPort)), unlike the repo server's
// --metrics-address and the ApplicationSet controller's --metrics-addr
// and --probe-addr, which are on loopback here.
func (a *ArgoCD) startController(args []string, logTo io.Writer) error {
	const name = "argocd-application-controller"
	env, err := a.componentEnv(name)
	if err != nil {
		return err
	}
	kubeconfig, err := ServiceAccountKubeconfig(a.Kubectl, a.Dir, ArgoCDNamespace, name)
	if err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	// --app-resync: compare with Git every 10s rather than every 120s.
	args = append([]string{
		"--kubeconfig", kubeconfig, "--namespace", ArgoCDNamespace,
		"--repo-server", a.RepoServerAddr, "--repo-server-plaintext", "--redis", a.redisAddr,
		"--metrics-port", fmt.Sprint(port), "--app-resync", "10", "--logformat", "text",
	}, args...)
	if a.Controller, err = startProcessEnv(name, filepath.Join(a.bin, "argocd"), args, env, logTo); err != nil {
		return err
	}
	return waitReady(name, fmt.Sprintf("127.0.0.1:%d", port), "/healthz", a.Controller.done, 90*time.Second)
}

// startApplicationSet runs the ApplicationSet controller as its
// ServiceAccount, every listener on loopback, leader election off.
func (a *ArgoCD) startApplicationSet(args []string, logTo io.Writer) error {
	const name = "argocd-applicationset-controller"
	env, err := a.componentEnv(name)
	if err != nil {
		return err
	}
	kubeconfig, err := ServiceAccountKubeconfig(a.Kubectl, a.Dir, ArgoCDNamespace, name)
	if err != nil {
		return err
	}
	// Its client comes from controller-runtime, which reads KUBECONFIG,
	// not the --kubeconfig flag (that one only gives the namespace).
	env = append(env, "KUBECONFIG="+kubeconfig)
	addrs := make([]string, 3)
	for i := range addrs {
		if addrs[i], err = FreeAddr(); err != nil {
			return err
		}
	}
	args = append([]string{
		"--kubeconfig", kubeconfig, "--namespace", ArgoCDNamespace,
		"--argocd-repo-server", a.RepoServerAddr, "--repo-server-plaintext",
		"--metrics-addr", addrs[0], "--probe-addr", addrs[1], "--webhook-addr", addrs[2],
		"--enable-leader-election=false", "--logformat", "text",
	}, args...)
	if a.ApplicationSet, err = startProcessEnv(name, filepath.Join(a.bin, "argocd"), args, env, logTo); err != nil {
		return err
	}
	// It registers no health checks, so its probe server answers 404;
	// the metrics server starts with the manager.
	return waitReady(name, addrs[0], "/metrics", a.ApplicationSet.done, 90*time.Second)
}

// Logs is every component's output, one after the other.
func (a *ArgoCD) Logs() string {
	var b strings.Builder
	for _, p := range a.processes() {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", p.Name, p.Logs())
	}
	return b.String()
}

func (a *ArgoCD) processes() []*Process {
	var ps []*Process
	for _, p := range []*Process{a.Redis, a.RepoServer, a.Controller, a.ApplicationSet} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// Stop ends every component, the controllers first, and removes their
// files. The objects in the cluster stay.
func (a *ArgoCD) Stop() {
	ps := a.processes()
	for i := len(ps) - 1; i >= 0; i-- {
		ps[i].Stop()
	}
	_ = os.RemoveAll(a.Dir)
}

// waitRedis polls redis at addr until it answers PING after AUTH, failing
// early when the process exits.
func waitRedis(p *Process, addr, password string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			return fmt.Errorf("redis-server exited before it was ready:\n%s", Tail(p.Logs(), 40))
		}
		if redisPing(addr, password) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server not ready after %s: %w\n%s", timeout, redisPing(addr, password), Tail(p.Logs(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// redisPing sends AUTH and PING in redis's protocol and wants +OK, +PONG.
func redisPing(addr, password string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "AUTH %s\r\nPING\r\n", password); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) != want {
			return fmt.Errorf("redis answered %q, want %s", strings.TrimSpace(line), want)
		}
	}
	return nil
}
