package harness

import "fmt"

// GrantTestAdmins makes the test identities (dev-user, Flux's
// kustomize-controller, kube-system service accounts) cluster-admins, as
// StartStack does, for tests that assemble their own stack.
func GrantTestAdmins(k *Kubectl) error {
	if r := k.Run(rbac, "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}
