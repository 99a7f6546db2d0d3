package server

import "context"

// runnable runs on every replica: each serves admission and keeps its own
// snapshot, so none waits for leader election.
type runnable struct {
	r interface{ Start(context.Context) error }
}

func (r runnable) Start(ctx context.Context) error { return r.r.Start(ctx) }
func (runnable) NeedLeaderElection() bool          { return false }
