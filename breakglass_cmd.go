package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/gitgate/gitgate/breakglass"
)

const breakglassUsage = `gitgate breakglass manages time-bounded break-glass grants through the API.

Usage:
  gitgate breakglass grant NAME --user U|--group G --for 1h --reason "INC-123: ..." [--in-namespace NS]
  gitgate breakglass revoke NAME
  gitgate breakglass list

A grant lets its users and groups past the Git check until it expires (at
most --max-break-glass after it is granted); every use is warned about and
audited. Changes made under a grant are reverted by the GitOps agent unless
they are committed to Git.

Common flags: --kubeconfig, --gitgate-namespace (default $POD_NAMESPACE or
gitgate-system), --configmap (default gitgate-break-glass).
`

// breakglassOptions are the flags of `gitgate breakglass`.
type breakglassOptions struct {
	kubeconfig string
	namespace  string
	configMap  string
	max        time.Duration

	users      []string
	groups     []string
	namespaces []string
	duration   time.Duration
	reason     string
}

func (o *breakglassOptions) BindFlags(fs *pflag.FlagSet, verb string) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; default $KUBECONFIG or ~/.kube/config.")
	fs.StringVar(&o.namespace, "gitgate-namespace", defaultNamespace(), "gitgate's namespace, which holds the grants ConfigMap.")
	fs.StringVar(&o.configMap, "configmap", breakglass.DefaultConfigMap, "Name of the grants ConfigMap (gitgate's --break-glass-configmap).")
	fs.DurationVar(&o.max, "max-break-glass", breakglass.DefaultMaxDuration, "Longest grant gitgate accepts (its --max-break-glass).")
	if verb == "grant" {
		fs.StringArrayVar(&o.users, "user", nil, "User the grant covers; repeatable.")
		fs.StringArrayVar(&o.groups, "group", nil, "Group the grant covers; repeatable.")
		fs.StringArrayVar(&o.namespaces, "in-namespace", nil, "Namespace the grant is limited to; repeatable. Default: every namespace and cluster-scoped objects.")
		fs.DurationVar(&o.duration, "for", time.Hour, "How long the grant lasts.")
		fs.StringVar(&o.reason, "reason", "", "Why: an incident or ticket reference. Required.")
	}
}

func runBreakglass(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, breakglassUsage)
		return 0
	}
	verb := args[0]
	switch verb {
	case "grant", "revoke", "list":
	default:
		fmt.Fprintf(stderr, "gitgate breakglass: unknown command %q\n\n%s", verb, breakglassUsage)
		return 2
	}
	var o breakglassOptions
	fs := pflag.NewFlagSet("gitgate breakglass "+verb, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	o.BindFlags(fs, verb)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	wantArgs := 1
	if verb == "list" {
		wantArgs = 0
	}
	if fs.NArg() != wantArgs {
		fmt.Fprintf(stderr, "gitgate breakglass %s: want %d argument(s), got %q\n", verb, wantArgs, fs.Args())
		return 2
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		fmt.Fprintln(stderr, "gitgate breakglass:", err)
		return 1
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gitgate breakglass:", err)
		return 1
	}
	c := &breakglass.Client{Kube: kube, Namespace: o.namespace, Name: o.configMap}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch verb {
	case "grant":
		err = grantCmd(ctx, c, &o, fs.Arg(0), stdout)
	case "revoke":
		if err = c.Revoke(ctx, fs.Arg(0)); err == nil {
			fmt.Fprintf(stdout, "break-glass grant %s revoked\n", fs.Arg(0))
		}
	case "list":
		err = listCmd(ctx, c, &o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gitgate breakglass %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func grantCmd(ctx context.Context, c *breakglass.Client, o *breakglassOptions, name string, stdout io.Writer) error {
	if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
		return fmt.Errorf("grant name %q: %s", name, strings.Join(errs, "; "))
	}
	now := time.Now().UTC().Truncate(time.Second)
	g := breakglass.Grant{
		Name: name, Users: o.users, Groups: o.groups, Namespaces: o.namespaces,
		Reason: o.reason, GrantedBy: whoAmI(ctx, c.Kube), GrantedAt: now, ExpiresAt: now.Add(o.duration),
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

// whoAmI names the operator for the grant's grantedBy; empty if the API
// server will not say.
func whoAmI(ctx context.Context, kube kubernetes.Interface) string {
	r, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return os.Getenv("USER")
	}
	return r.Status.UserInfo.Username
}
