package gitsync

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// TestSSHWithVerifiedCommits runs a second gitgate that reads the same
// repository over SSH (key and known_hosts from files) and enforces only
// signed heads, OpenPGP or SSH: it loads a PGP-signed commit, refuses an
// unsigned one and keeps enforcing the signed revision, then loads an
// SSH-signed commit.
func TestSSHWithVerifiedCommits(t *testing.T) {
	resetRepo(t, "blue")
	dir := t.TempDir()
	key, keyring, err := harness.NewPGPKey(dir, "release")
	if err != nil {
		t.Fatal(err)
	}
	sshKey, allowedSigners, err := harness.NewSSHSigningKey(dir, "release@example.com")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := env.git.CommitSigned(map[string]string{"overlays/prod/flags.yaml": flags("teal")}, key)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := harness.StartGitgate(harness.GitgateOptions{
		Kubeconfig: env.cp.Kubeconfig,
		RepoURL:    env.ssh.URL,
		Args: []string{
			"--branch", "main", "--interval", "1s",
			"--path", "namespaces", "--path", "overlays/prod",
			"--git-ssh-key-file", env.ssh.KeyFile,
			"--git-known-hosts-file", env.ssh.KnownHostsFile,
			"--verify-commits", keyring,
			"--verify-commits-ssh", allowedSigners,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gg.Stop()
	// Ready means synced: fetched over SSH and verified.
	if m := ggMetrics(t, gg); !strings.Contains(m, `gitgate_git_revision_info{revision="main@sha1:`+signed+`"} 1`) {
		t.Fatalf("ready, but not enforcing the signed head %s:\n%s", signed, grepLines(m, "gitgate_git_"))
	}

	if _, err := env.git.Commit(harness.Change{Write: map[string]string{"overlays/prod/flags.yaml": flags("orange")}, Message: "unsigned"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(ggMetrics(t, gg), `gitgate_git_sync_failures_total{reason="verify"}`) {
		if time.Now().After(deadline) {
			t.Fatalf("the unsigned head was not refused within 20s\n%s", gg.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m := ggMetrics(t, gg); !strings.Contains(m, `gitgate_git_revision_info{revision="main@sha1:`+signed+`"} 1`) {
		t.Errorf("after an unsigned head, the signed revision is no longer enforced:\n%s", grepLines(m, "gitgate_git_revision_info"))
	}
	logs := gg.Logs()
	if !strings.Contains(logs, "not signed") && !strings.Contains(logs, "signature") {
		t.Errorf("the refusal is not explained in the log:\n%s", logs)
	}
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Error("the SSH private key appears in the log")
	}

	sshSigned, err := env.git.Commit(harness.Change{Write: map[string]string{"overlays/prod/flags.yaml": flags("teal")}, Message: "ssh-signed", Signer: sshKey})
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(ggMetrics(t, gg), `gitgate_git_revision_info{revision="main@sha1:`+sshSigned+`"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("the SSH-signed head %s was not loaded within 20s\n%s", sshSigned, gg.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ggMetrics(t *testing.T, gg *harness.Gitgate) string {
	t.Helper()
	m, err := gg.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
