package harness

import (
	"errors"
	"testing"
	"time"
)

// TestStartPortsAnew: a component that exits because its port was taken
// is started again, three times at most; any other failure is final.
func TestStartPortsAnew(t *testing.T) {
	for _, tc := range []struct {
		name      string
		logs      []string // what each attempt's process prints before it exits
		wantCalls int
		wantErr   bool
	}{
		{"port taken once", []string{"listen tcp 127.0.0.1:1: bind: address already in use", ""}, 2, false},
		{"port taken every time", []string{"bind: Address already in use", "bind: address already in use", "bind: address already in use"}, 3, true},
		{"another failure", []string{"fatal: no kubeconfig"}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *Process
			calls := 0
			start := func() error {
				out := tc.logs[calls]
				calls++
				var err error
				if p, err = startProcess("fake", "/bin/sh", []string{"-c", "echo '" + out + "'"}, nil); err != nil {
					t.Fatal(err)
				}
				select {
				case <-p.done:
				case <-time.After(10 * time.Second):
					t.Fatal("the fake process did not exit")
				}
				if out == "" {
					return nil
				}
				return errors.New("exited before it was ready")
			}
			err := startPortsAnew(start, func() *Process { return p })
			if calls != tc.wantCalls || (err != nil) != tc.wantErr {
				t.Errorf("%d starts, error %v; want %d starts, error %v", calls, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
}
