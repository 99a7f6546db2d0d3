package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/server"
)

const breakglassLong = `gitgate breakglass manages time-bounded break-glass grants through the API.

A grant lets its users and groups past the Git check until it expires (at
most --max-break-glass after it is granted); every use is warned about and
audited. Changes made under a grant are reverted by the GitOps agent unless
they are committed to Git.`

// breakglassOptions are the flags of `gitgate breakglass`.
type breakglassOptions struct {
	kube      kubeFlags
	namespace string
	configMap string
	max       time.Duration

	users      []string
	groups     []string
	namespaces []string
	duration   time.Duration
	reason     string
}

func (o *breakglassOptions) BindFlags(fs *pflag.FlagSet) {
	o.kube.bindConfig(fs)
	fs.StringVar(&o.namespace, "gitgate-namespace", defaultNamespace(), "gitgate's namespace, which holds the grants ConfigMap.")
	fs.StringVar(&o.configMap, "configmap", breakglass.DefaultConfigMap, "Name of the grants ConfigMap (gitgate's --break-glass-configmap).")
	fs.DurationVar(&o.max, "max-break-glass", breakglass.DefaultMaxDuration, "Longest grant gitgate accepts (its --max-break-glass).")
}

func (o *breakglassOptions) bindGrantFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.users, "user", nil, "User the grant covers; repeatable.")
	fs.StringArrayVar(&o.groups, "group", nil, "Group the grant covers; repeatable.")
	fs.StringArrayVar(&o.namespaces, "in-namespace", nil, "Namespace the grant is limited to; repeatable. Default: every namespace and cluster-scoped objects.")
	fs.DurationVar(&o.duration, "for", time.Hour, "How long the grant lasts.")
	fs.StringVar(&o.reason, "reason", "", "Why: an incident or ticket reference. Required.")
}

func newBreakglassCmd() *cobra.Command {
	var o breakglassOptions
	cmd := &cobra.Command{
		Use:   "breakglass",
		Short: "Grant, revoke or list break-glass grants",
		Long:  breakglassLong,
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("a command is required: grant, revoke or list")}
		},
	}
	o.BindFlags(cmd.PersistentFlags())
	grant := &cobra.Command{
		Use:     "grant NAME --user U|--group G --for 1h --reason REASON [--in-namespace NS]",
		Short:   "Grant break-glass access until it expires",
		Example: `  gitgate breakglass grant inc-123 --user alice --for 1h --reason "INC-123: checkout down"`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withClient(func(ctx context.Context, c *breakglass.Client) error {
				return grantCmd(ctx, c, &o, args[0], cmd.OutOrStdout())
			})
		},
	}
	o.bindGrantFlags(grant.Flags())
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a break-glass grant",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withClient(func(ctx context.Context, c *breakglass.Client) error {
				if err := c.Revoke(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "break-glass grant %s revoked\n", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List break-glass grants and their state",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(ctx context.Context, c *breakglass.Client) error {
				return listCmd(ctx, c, &o, cmd.OutOrStdout())
			})
		},
	}
	cmd.AddCommand(grant, revoke, list)
	return cmd
}

// withClient runs f with a grants client and a 30 s deadline; its errors
// are run-time failures.
func (o *breakglassOptions) withClient(f func(context.Context, *breakglass.Client) error) error {
	cfg, err := o.kube.restConfig()
	if err != nil {
		return failed(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return failed(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return failed(f(ctx, &breakglass.Client{Kube: kube, Namespace: o.namespace, Name: o.configMap}))
}

func grantCmd(ctx context.Context, c *breakglass.Client, o *breakglassOptions, name string, stdout io.Writer) error {
	if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
		return fmt.Errorf("grant name %q: %s", name, strings.Join(errs, "; "))
	}
	now := time.Now().UTC().Truncate(time.Second)
	g := breakglass.Grant{
		Name: name, Users: o.users, Groups: o.groups, Namespaces: o.namespaces,
		Reason: o.reason, GrantedBy: grantedBy(ctx, c.Kube), GrantedAt: now, ExpiresAt: now.Add(o.duration),
	}
	// gitgate checks again and ignores an invalid grant; refusing here
	// tells the operator at once instead of leaving a grant that never works.
	if err := g.Validate(o.max, now); err != nil {
		return err
	}
	if err := c.Grant(ctx, g); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "break-glass grant %s created: users %v, groups %v, expires %s (in %s)\n",
		name, g.Users, g.Groups, g.ExpiresAt.Format(time.RFC3339), o.duration)
	return nil
}

func listCmd(ctx context.Context, c *breakglass.Client, o *breakglassOptions, stdout io.Writer) error {
	now := time.Now()
	entries, err := c.List(ctx, o.max, now)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tUSERS\tGROUPS\tNAMESPACES\tEXPIRES\tREASON")
	for _, e := range entries {
		g := e.Grant
		status := "active"
		switch {
		case e.Err != nil:
			status = "invalid: " + strings.ReplaceAll(e.Err.Error(), "\n", "; ")
		case !now.Before(g.ExpiresAt):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, status, list(g.Users), list(g.Groups), list(g.Namespaces),
			g.ExpiresAt.Format(time.RFC3339), g.Reason)
	}
	return tw.Flush()
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// grantedBy names the operator for the grant's grantedBy: the user the
// API server knows the kubeconfig by, else $USER.
func grantedBy(ctx context.Context, kube kubernetes.Interface) string {
	user, err := server.WhoAmI(ctx, kube)
	if err != nil {
		return os.Getenv("USER")
	}
	return user
}
