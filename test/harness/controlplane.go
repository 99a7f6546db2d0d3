package harness

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a running kube-apiserver with its etcd.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	// Kubeconfig is a file for kubectl, authenticated as a cluster admin
	// (system:masters). Tests act as others with --as.
	Kubeconfig string
	Dir        string
}

// ControlPlaneOptions adjust the API server.
type ControlPlaneOptions struct {
	// APIServerArgs are added to envtest's defaults, e.g. audit flags.
	APIServerArgs map[string][]string
	// ClusterAdmission runs the admission plugins as kubeadm's API server
	// does: the defaults, ServiceAccount among them, plus NodeRestriction.
	// envtest turns ServiceAccount off, since without a controller manager
	// no Namespace gets its default ServiceAccount; set it when one runs
	// (StartCluster). APIServerArgs still override it.
	ClusterAdmission bool
}

// StartControlPlane starts etcd and kube-apiserver on loopback.
func StartControlPlane(opts ControlPlaneOptions) (*ControlPlane, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitgate-cp-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: bin}
	api := env.ControlPlane.GetAPIServer()
	// Without a kube-controller-manager nothing reconciles the kubernetes
	// Service's endpoints, and on loopback the default reconciler fails.
	api.Configure().Set("endpoint-reconciler-type", "none")
	if opts.ClusterAdmission {
		api.Configure().Disable("disable-admission-plugins")
		api.Configure().Set("enable-admission-plugins", "NodeRestriction")
	}
	for k, vs := range opts.APIServerArgs {
		api.Configure().Set(k, vs...)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp := &ControlPlane{Env: env, Config: cfg, Dir: dir}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	if cp.Client, err = client.New(cfg, client.Options{}); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return cp, nil
}

// Stop stops the API server and etcd and removes their files.
func (c *ControlPlane) Stop() error {
	err := c.Env.Stop()
	_ = os.RemoveAll(c.Dir)
	return err
}
