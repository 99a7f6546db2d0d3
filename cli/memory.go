package cli

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// cgroupMemoryMax is where a container's memory limit shows (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryLimit is the Go runtime's soft memory limit gitgate runs with,
// in bytes (0: none), and where it comes from. --memory-limit wins; then
// GOMEMLIMIT, which the runtime applied already; then nine tenths of the
// container's memory limit. Under the limit the collector runs more
// often instead of letting the heap double (GOGC=100) past what the
// container may hold: the index of declared objects is long-lived, so
// without it the heap's peak is about twice the index.
func memoryLimit(flag string, readFile func(string) ([]byte, error)) (int64, string, error) {
	if flag != "" {
		q, err := resource.ParseQuantity(flag)
		if err != nil || q.Sign() < 0 {
			return 0, "", fmt.Errorf("--memory-limit %q: not a quantity of bytes such as 512Mi", flag)
		}
		return q.Value(), "--memory-limit", nil
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil // the runtime read it at start
	}
	b, err := readFile(cgroupMemoryMax)
	if err != nil {
		return 0, "", nil // not in a cgroup v2 container: no limit
	}
	max, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, "", nil // "max": the container has no limit
	}
	return max / 10 * 9, cgroupMemoryMax, nil
}

// applyMemoryLimit sets limit; 0 is none.
func applyMemoryLimit(limit int64) {
	if limit <= 0 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
}
