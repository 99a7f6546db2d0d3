package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gitgate/gitgate/certs"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// BuildGitgate compiles the gitgate binary once per process.
func BuildGitgate() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gitgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gitgate")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// RemoveGitgateBuild deletes the binary BuildGitgate built, once no
// process of it runs any more; without it every test package leaves one
// in the temporary folder.
func RemoveGitgateBuild() {
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
}

// Gitgate is a running `gitgate serve` process.
type Gitgate struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	// Port is the webhook's HTTPS port on 127.0.0.1.
	Port int
	// HealthAddr and MetricsAddr are the probe and metrics addresses.
	HealthAddr, MetricsAddr string
	CertDir                 string
	// CA signs the serving certificate; put it in the webhook's caBundle.
	CA *certs.KeyPair
}

// GitgateOptions configure StartGitgate.
type GitgateOptions struct {
	Kubeconfig string
	// RepoURL is passed as --repo-url unless empty (--source flux).
	RepoURL string
	// Args are further flags, e.g. --branch main --interval 1s.
	Args []string
	// LogTo also receives the process's output, e.g. os.Stderr.
	LogTo io.Writer
	// NoWait returns once the process started, for tests of readiness.
	NoWait bool
}

// StartGitgate runs gitgate with a fresh self-signed certificate for
// 127.0.0.1 and waits until it is ready (every root loaded, certificate
// loaded), unless opts.NoWait.
func StartGitgate(opts GitgateOptions) (*Gitgate, error) {
	bin, err := BuildGitgate()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitgate-certs-")
	if err != nil {
		return nil, err
	}
	ca, err := certs.NewCA("gitgate-test-ca", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	serving, err := certs.NewServing(ca, []string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	if err := certs.WriteDir(dir, serving, ca); err != nil {
		return nil, err
	}
	g := &Gitgate{logs: &syncBuffer{}, done: make(chan struct{}), CertDir: dir, CA: ca}
	if g.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if g.HealthAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if g.MetricsAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	args := []string{"serve", "--kubeconfig", opts.Kubeconfig}
	if opts.RepoURL != "" {
		args = append(args, "--repo-url", opts.RepoURL)
	}
	args = append(append(args,
		"--webhook-host", "127.0.0.1",
		"--port", strconv.Itoa(g.Port),
		"--cert-dir", dir,
		"--health-probe-bind-address", g.HealthAddr,
		"--metrics-bind-address", g.MetricsAddr,
	), opts.Args...)
	g.cmd = exec.Command(bin, args...)
	var out io.Writer = g.logs
	if opts.LogTo != nil {
		out = io.MultiWriter(g.logs, opts.LogTo)
	}
	g.cmd.Stdout, g.cmd.Stderr = out, out
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	if opts.NoWait {
		return g, nil
	}
	if err := g.WaitReady(90 * time.Second); err != nil {
		g.Stop()
		return nil, fmt.Errorf("%w\ngitgate logs:\n%s", err, g.Logs())
	}
	return g, nil
}

// URL is the webhook endpoint the API server calls.
func (g *Gitgate) URL() string { return fmt.Sprintf("https://127.0.0.1:%d/validate", g.Port) }

// WaitReady polls /readyz until it answers 200.
func (g *Gitgate) WaitReady(timeout time.Duration) error {
	return waitReady("gitgate", g.HealthAddr, ReadyzPath, g.done, timeout)
}

// ReadyzPath is the readiness probe of the install (manifests and chart).
const ReadyzPath = "/readyz"

// waitReady polls http://healthAddr/path until it answers 200, failing
// early when the process (done) exits.
func waitReady(name, healthAddr, path string, done <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready", name)
		default:
		}
		if resp, err := http.Get("http://" + healthAddr + path); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s", name, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Metrics returns the Prometheus exposition text.
func (g *Gitgate) Metrics() (string, error) {
	resp, err := http.Get("http://" + g.MetricsAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Post sends body to the webhook endpoint, trusting its CA, and returns the
// HTTP status and response body.
func (g *Gitgate) Post(contentType string, body []byte) (int, []byte, error) {
	pool := certPool(g.CA)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Post(g.URL(), contentType, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// CPUTime is the CPU, user and system, the process has used so far, at
// the kernel's clock tick (10 ms).
func (g *Gitgate) CPUTime() (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", g.cmd.Process.Pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", g.cmd.Process.Pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// Logs is everything gitgate printed so far.
func (g *Gitgate) Logs() string { return g.logs.String() }

// Stop ends the process and removes its certificates.
func (g *Gitgate) Stop() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Signal(os.Interrupt)
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	}
	_ = os.RemoveAll(g.CertDir)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
