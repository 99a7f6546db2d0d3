package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
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

func (k *kubeFlags) loader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.context})
}

func (k *kubeFlags) restConfig() (*rest.Config, error) {
	cfg, err := k.loader().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}

// contextNamespace is -n, else the namespace of the kubeconfig's context
// when there is one, else "default", as kubectl resolves it.
func (k *kubeFlags) contextNamespace() string {
	if k.namespace != "" {
		return k.namespace
	}
	if ns, _, err := k.loader().Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// exactArgs is cobra.ExactArgs with a message that names the command's
// arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d: %q", cmd.CommandPath(), n, len(args), args)}
		}
		return nil
	}
}
