package harness

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Kubectl runs the real kubectl against a control plane, as a person
// would type it.
type Kubectl struct {
	Path       string
	Kubeconfig string
	// Env is added to kubectl's environment, e.g. KUBE_EDITOR for
	// kubectl edit.
	Env []string
}

// NewKubectl finds kubectl (see KubectlPath).
func NewKubectl(kubeconfig string) (*Kubectl, error) {
	p, err := KubectlPath()
	if err != nil {
		return nil, err
	}
	return &Kubectl{Path: p, Kubeconfig: kubeconfig}, nil
}

// Result is what one kubectl command printed.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Err            error
	// Command is the program run; empty means kubectl.
	Command string
}

// Failed reports whether kubectl exited non-zero.
func (r Result) Failed() bool { return r.Err != nil }

// CommandLine renders the command as a person would type it.
func (r Result) CommandLine() string {
	cmd := r.Command
	if cmd == "" {
		cmd = "kubectl"
	}
	quoted := make([]string, len(r.Args))
	for i, a := range r.Args {
		quoted[i] = a
		if strings.ContainsAny(a, " \t\"'$*?{}") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return cmd + " " + strings.Join(quoted, " ")
}

// Run runs kubectl with args; stdin, if not empty, is piped in.
func (k *Kubectl) Run(stdin string, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Path, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	if len(k.Env) > 0 {
		cmd.Env = append(os.Environ(), k.Env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return Result{Args: args, Stdout: out.String(), Stderr: errb.String(), Err: err}
}
