package cli

import (
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/server"
)

// kubeFlags are the cluster flags of the client commands, named and
// resolved as kubectl's: --kubeconfig (else $KUBECONFIG, else
// ~/.kube/config), --context, and -n/--namespace.
type kubeFlags struct {
	kubeconfig string
	context    string
	namespace  string
}

func (k *kubeFlags) bindConfig(fs *pflag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default $KUBECONFIG or ~/.kube/config, as kubectl.")
	fs.StringVar(&k.context, "context", "", "The kubeconfig context to use; default its current context.")
}

func (k *kubeFlags) bindNamespace(fs *pflag.FlagSet, usage string) {
	fs.StringVarP(&k.namespace, "namespace", "n", "", usage)
}

// restConfig loads the kubeconfig as serve does (server.RESTConfig).
func (k *kubeFlags) restConfig() (*rest.Config, error) {
	return server.RESTConfig(k.kubeconfig, k.context)
}

// contextNamespace is -n, else the namespace of the kubeconfig's context
// when there is one, else "default", as kubectl resolves it.
func (k *kubeFlags) contextNamespace() string {
	if k.namespace != "" {
		return k.namespace
	}
	if ns, _, err := server.ClientConfig(k.kubeconfig, k.context).Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// defaultNamespace is gitgate's own namespace, the default of the flags
// naming gitgate's own objects: $POD_NAMESPACE (from the downward API) or
// gitgate-system.
func defaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "gitgate-system"
}
