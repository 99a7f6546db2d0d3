package server

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is where a container's memory limit shows (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryLimit is the Go runtime's soft memory limit gitgate runs with,
// in bytes (0: none), and where it comes from (for the log line, named as
// the operator sets it). The limit set (--memory-limit) wins; then
// GOMEMLIMIT, which the runtime applied already; then nine tenths of the
// container's memory limit. Under the limit the collector runs more often
// instead of letting the heap double (GOGC=100) past what the container
// may hold: the index of declared objects is long-lived, so without it
// the heap's peak is about twice the index.
func memoryLimit(set *int64, readFile func(string) ([]byte, error)) (int64, string) {
	if set != nil {
		return *set, "--memory-limit"
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT" // the runtime read it at start
	}
	b, err := readFile(cgroupMemoryMax)
	if err != nil {
		return 0, "" // not in a cgroup v2 container: no limit
	}
	max, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, "" // "max": the container has no limit
	}
	return max / 10 * 9, cgroupMemoryMax
}

// applyMemoryLimit sets limit; 0 is none.
func applyMemoryLimit(limit int64) {
	if limit <= 0 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
}
