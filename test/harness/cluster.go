package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The identities the cluster's components act as. With
// --use-service-account-credentials, each controller of
// kube-controller-manager acts as its own service account in kube-system
// (system:serviceaccount:kube-system:deployment-controller, ...); the
// controller manager's own user only fetches their tokens and holds its
// Lease.
const (
	ControllerManagerUser = "system:kube-controller-manager"
	SchedulerUser         = "system:kube-scheduler"
	// KwokUser is kwok's service account, as kwok's own manifests
	// (kustomize/rbac) install it: kwok stands in for the kubelets.
	KwokUser = "system:serviceaccount:kube-system:kwok-controller"
)

// KwokNodeAnnotation marks the Nodes kwok manages (kwok's docs:
// kwok.x-k8s.io/node: fake), and kwok is told to manage only those.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// The files hack/build-control-plane.sh writes beside kwok: the Stage
// objects of kwok's kustomize/stage/fast, and kwok's RBAC.
const (
	kwokStagesFile = "kwok-stages.yaml"
	kwokRBACFile   = "kwok-rbac.yaml"
)

// envtest's names for the API server's service-account key pair and client
// CA, in the API server's CertDir (controller-runtime's
// pkg/internal/testing/controlplane: saKeyFile, CertAuthn.caCrtPath).
const (
	saSigningKeyFile = "sa-signer.key"
	clientCAFile     = "client-cert-auth-ca.crt"
)

// Cluster is what turns a ControlPlane into a cluster: the built-in
// controllers (kube-controller-manager), the scheduler, and kwok standing
// in for the kubelets of fake Nodes, so that Deployments roll out,
// Namespaces are emptied and garbage is collected, by the identities that
// do it in a kubeadm cluster.
type Cluster struct {
	ControllerManager, Scheduler, Kwok *Process
	// Nodes are the fake Nodes kwok manages, Ready once StartCluster
	// returns.
	Nodes []string

	cp  *ControlPlane
	dir string
}

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Nodes names the fake Nodes; kwok-node-0 and kwok-node-1 when empty.
	Nodes []string
	// LogTo also receives every component's output.
	LogTo io.Writer
}

// StartCluster starts kube-controller-manager, kube-scheduler and kwok
// beside cp, creates the fake Nodes, and waits until the controllers work
// (the default Namespace's ServiceAccount exists) and every Node is Ready.
// Start cp with ControlPlaneOptions.ClusterAdmission, as a kubeadm API
// server runs its admission plugins.
//
// It applies kwok's RBAC (ApplyKwokRBAC), which Git does not declare: call
// ApplyKwokRBAC before gitgate's webhook is registered, as StartStack
// does. On error, what was started is stopped again.
func StartCluster(cp *ControlPlane, opts ClusterOptions) (_ *Cluster, err error) {
	bin, err := binDirWith("hack/build-control-plane.sh", "kube-controller-manager", "kube-scheduler", "kwok", kwokStagesFile, kwokRBACFile)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitgate-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{cp: cp, dir: dir, Nodes: opts.Nodes}
	if len(c.Nodes) == 0 {
		c.Nodes = []string{"kwok-node-0", "kwok-node-1"}
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err = c.startControllerManager(bin, opts.LogTo); err != nil {
		return nil, err
	}
	if err = c.startScheduler(bin, opts.LogTo); err != nil {
		return nil, err
	}
	if err = c.startKwok(bin, opts.LogTo); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err = c.ControllerManager.waitHealthy(2 * time.Minute); err != nil {
		return nil, err
	}
	if err = c.Scheduler.waitHealthy(2 * time.Minute); err != nil {
		return nil, err
	}
	if err = c.waitDefaultServiceAccount(ctx); err != nil {
		return nil, err
	}
	if err = c.createNodes(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops kwok, the scheduler and the controller manager and removes
// their files. The Nodes stay: the control plane's Stop removes them all.
func (c *Cluster) Stop() {
	c.Kwok.Stop()
	c.Scheduler.Stop()
	c.ControllerManager.Stop()
	_ = os.RemoveAll(c.dir)
}

// Logs is every component's output so far, one section each.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, p := range []*Process{c.ControllerManager, c.Scheduler, c.Kwok} {
		if p != nil {
			fmt.Fprintf(&b, "--- %s ---\n%s\n", p.Name, p.Logs())
		}
	}
	return b.String()
}

// startControllerManager runs kube-controller-manager with the flags
// kubeadm gives it (its static Pod manifest), on loopback and a free port.
// Left out: the CSR signer's --cluster-signing-* files (envtest keeps its
// client CA's key to itself, so the csrsigning controller stays off) and
// --requestheader-client-ca-file (no front proxy).
func (c *Cluster) startControllerManager(bin string, logTo io.Writer) error {
	api := c.cp.Env.ControlPlane.APIServer
	rootCA := filepath.Join(c.dir, "ca.crt")
	if err := os.WriteFile(rootCA, api.SecureServing.CA, 0o600); err != nil {
		return err
	}
	var err error
	c.ControllerManager, err = c.startComponent("kube-controller-manager", ControllerManagerUser, bin, logTo,
		"--client-ca-file="+filepath.Join(api.CertDir, clientCAFile),
		"--cluster-name=kubernetes",
		"--controllers=*,bootstrapsigner,tokencleaner",
		"--root-ca-file="+rootCA,
		"--service-account-private-key-file="+filepath.Join(api.CertDir, saSigningKeyFile),
		"--use-service-account-credentials=true",
	)
	return err
}

// startScheduler runs kube-scheduler with kubeadm's flags, on loopback and
// a free port.
func (c *Cluster) startScheduler(bin string, logTo io.Writer) error {
	var err error
	c.Scheduler, err = c.startComponent("kube-scheduler", SchedulerUser, bin, logTo)
	return err
}

// startComponent runs a control-plane component as kubeadm does: its own
// client certificate for user, the same kubeconfig for authentication and
// authorization, serving on loopback at a free port, leader election on,
// and the flags in extra.
func (c *Cluster) startComponent(name, user, bin string, logTo io.Writer, extra ...string) (*Process, error) {
	kubeconfig, err := c.certKubeconfig(name, user)
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.dir, name+"-certs"),
		"--leader-elect=true",
	}, extra...)
	p, err := startProcess(name, filepath.Join(bin, name), args, logTo)
	if err == nil {
		p.port = port
	}
	return p, err
}

// startKwok runs kwok as its service account, with the stages of its
// kustomize/stage/fast, managing the Nodes annotated kwok.x-k8s.io/node:
// fake. It serves nothing (no --server-address, no --node-port): exec and
// logs are not needed here. Nodes report 127.0.0.1 as their address.
func (c *Cluster) startKwok(bin string, logTo io.Writer) error {
	k, err := NewKubectl(c.cp.Kubeconfig)
	if err != nil {
		return err
	}
	if err := ApplyKwokRBAC(k); err != nil {
		return err
	}
	name := strings.TrimPrefix(KwokUser, "system:serviceaccount:kube-system:")
	r := k.Run("", "create", "token", name, "-n", "kube-system", "--duration=48h")
	if r.Failed() {
		return fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	kubeconfig, err := c.writeKubeconfig("kwok", &clientcmdapi.AuthInfo{Token: strings.TrimSpace(r.Stdout)})
	if err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + filepath.Join(bin, kwokStagesFile),
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
		"--node-ip=127.0.0.1",
		"--cidr=10.244.0.0/16",
	}
	c.Kwok, err = startProcess("kwok", filepath.Join(bin, "kwok"), args, logTo)
	return err
}

// ApplyKwokRBAC applies kwok's own RBAC (its ServiceAccount in kube-system,
// ClusterRole, ClusterRoleBinding and FlowSchema) as hack/build-control-plane.sh
// rendered it from kwok's kustomize/rbac. gitgate would refuse the cluster-
// scoped objects (Git does not declare them), so apply it before gitgate's
// webhook is registered; applied again unchanged, it writes nothing.
func ApplyKwokRBAC(k *Kubectl) error {
	bin, err := BinDir()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(bin, kwokRBACFile))
	if err != nil {
		return fmt.Errorf("%w: run hack/build-control-plane.sh", err)
	}
	if r := k.Run(string(data), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}

// certKubeconfig writes a kubeconfig that authenticates as user with a
// client certificate the API server's client CA signed, as kubeadm writes
// controller-manager.conf and scheduler.conf.
func (c *Cluster) certKubeconfig(name, user string) (string, error) {
	u, err := c.cp.Env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return "", fmt.Errorf("client certificate for %s: %w", user, err)
	}
	cfg := u.Config()
	return c.writeKubeconfig(name, &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData})
}

func (c *Cluster) writeKubeconfig(name string, auth *clientcmdapi.AuthInfo) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: c.cp.Config.Host, CertificateAuthorityData: c.cp.Config.CAData}
	cfg.AuthInfos[name] = auth
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(c.dir, name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// waitDefaultServiceAccount waits for the service account controller to
// create the default Namespace's ServiceAccount: the controllers run.
func (c *Cluster) waitDefaultServiceAccount(ctx context.Context) error {
	key := client.ObjectKey{Namespace: "default", Name: "default"}
	for {
		err := c.cp.Client.Get(ctx, key, &corev1.ServiceAccount{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			return fmt.Errorf("get ServiceAccount default/default: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-controller-manager created no ServiceAccount default/default:\n%s", Tail(c.ControllerManager.Logs(), 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// createNodes registers the fake Nodes, labelled as a kubelet labels its
// own, and waits until kwok reports each Ready. They carry no taint (kwok's
// docs taint fake Nodes to keep real Pods off them; here there is no other
// Node).
func (c *Cluster) createNodes(ctx context.Context) error {
	for _, name := range c.Nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{KwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "", "type": "kwok",
			},
		}}
		if err := c.cp.Client.Create(ctx, node); err != nil {
			return fmt.Errorf("create Node %s: %w", name, err)
		}
	}
	for _, name := range c.Nodes {
		if err := c.waitNodeReady(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) waitNodeReady(ctx context.Context, name string) error {
	for {
		var node corev1.Node
		if err := c.cp.Client.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil && ctx.Err() == nil {
			return fmt.Errorf("get Node %s: %w", name, err)
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kwok did not make Node %s Ready:\n%s", name, Tail(c.Kwok.Logs(), 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
