package harness

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// RepoRoot is the root of the gitgate checkout.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir holds kube-apiserver, etcd and kubectl: $GITGATE_BIN_DIR, or the
// folder hack/build-control-plane.sh fills.
func BinDir() (string, error) {
	dir := os.Getenv("GITGATE_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), ".cache", "bin")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%s missing in %s: run hack/build-control-plane.sh first", b, dir)
		}
	}
	return dir, nil
}

// KubectlPath prefers the kubectl built next to the API server (same
// version), then the one on PATH.
func KubectlPath() (string, error) {
	if dir, err := BinDir(); err == nil {
		p := filepath.Join(dir, "kubectl")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return "", errors.New("kubectl not found: run hack/build-control-plane.sh")
	}
	return p, nil
}

// FreeAddr returns a loopback address with a port nobody listens on now,
// for a process to bind later. The port is below the kernel's ephemeral
// range (net.ipv4.ip_local_port_range, 32768 up by default), which the
// local ends of every outgoing connection and every ":0" listener take
// from: the many connections of test packages running in parallel could
// take a port from that range between this pick and the bind. Where no
// such port is found, it falls back to one the kernel picks.
func FreeAddr() (string, error) {
	for range 50 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", freePortLow+rand.IntN(freePortHigh-freePortLow)))
		if err == nil {
			addr := l.Addr().String()
			l.Close()
			return addr, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// FreeAddr's ports: from 20000 to the start of Linux's default ephemeral
// range.
const freePortLow, freePortHigh = 20000, 32768

// FreePort is FreeAddr's port.
func FreePort() (int, error) {
	addr, err := FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return strconv.Atoi(port)
}

// binDirWith is BinDir once it holds every one of files, which the build
// scripts named by build put there.
func binDirWith(build string, files ...string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("%s missing in %s: run %s first", f, dir, build)
		}
	}
	return dir, nil
}
