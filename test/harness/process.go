package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Process is a running component of the cluster (kube-controller-manager,
// kube-scheduler, kwok) with its output kept for failure messages.
type Process struct {
	Name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	// port is the HTTPS port of /healthz on 127.0.0.1, if it serves one.
	port int
}

// startProcess runs bin with args; its output goes to the Process's logs
// and, if not nil, to logTo.
func startProcess(name, bin string, args []string, logTo io.Writer) (*Process, error) {
	return startProcessEnv(name, bin, args, nil, logTo)
}

// startProcessEnv is startProcess with env added to the test's own
// environment (a later entry of a duplicate key wins).
func startProcessEnv(name, bin string, args, env []string, logTo io.Writer) (*Process, error) {
	p := &Process{Name: name, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	var out io.Writer = p.logs
	if logTo != nil {
		out = io.MultiWriter(p.logs, logTo)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// Logs is everything the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop asks the process to end (SIGTERM, as the kubelet stops a static
// Pod) and kills it after 10 seconds.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHealthy polls https://127.0.0.1:port/healthz until it answers 200, failing
// early when the process exits. The components serve it with a
// certificate they sign themselves at start, and /healthz needs no
// credentials, so the probe does not verify it: it only ever dials
// loopback.
func (p *Process) waitHealthy(timeout time.Duration) error {
	addr := "127.0.0.1:" + strconv.Itoa(p.port)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // loopback health probe, see above
	}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was healthy:\n%s", p.Name, Tail(p.Logs(), 40))
		}
		if resp, err := c.Get("https://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s:\n%s", p.Name, timeout, Tail(p.Logs(), 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
