package server

import (
	"errors"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	cgroup := func(content string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if path != cgroupMemoryMax || content == "" {
				return nil, errors.New("no such file")
			}
			return []byte(content), nil
		}
	}
	bytes := func(n int64) *int64 { return &n }
	tests := []struct {
		name, env, cgroup string
		set               *int64
		want              int64
		from              string
	}{
		{name: "set", set: bytes(300 << 20), cgroup: "1073741824\n", want: 300 << 20, from: "--memory-limit"},
		{name: "set to zero is none", set: bytes(0), want: 0, from: "--memory-limit"},
		{name: "nine tenths of the container", cgroup: "1000000000\n", want: 900000000, from: cgroupMemoryMax},
		{name: "container without a limit", cgroup: "max\n", want: 0},
		{name: "no cgroup", want: 0},
		{name: "GOMEMLIMIT wins over the container", env: "200MiB", cgroup: "1000000000\n", want: 200 << 20, from: "GOMEMLIMIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			if tc.env != "" {
				applyMemoryLimit(200 << 20) // what the runtime does with GOMEMLIMIT at start
				defer applyMemoryLimit(0)
			}
			got, from := memoryLimit(tc.set, cgroup(tc.cgroup))
			if got != tc.want || from != tc.from {
				t.Errorf("got %d from %q, want %d from %q", got, from, tc.want, tc.from)
			}
		})
	}
}
