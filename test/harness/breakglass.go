package harness

import (
	"fmt"
	"os/exec"
)

// BreakGlass runs `gitgate breakglass ARGS` against the cluster of
// kubeconfig, with grants in GitgateNamespace, as an on-call engineer
// would, and returns its output.
func BreakGlass(kubeconfig string, args ...string) (string, error) {
	bin, err := BuildGitgate()
	if err != nil {
		return "", err
	}
	args = append(append([]string{"breakglass"}, args...), "--kubeconfig", kubeconfig, "--gitgate-namespace", GitgateNamespace)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("gitgate %v: %w\n%s", args, err, out)
	}
	return string(out), nil
}
