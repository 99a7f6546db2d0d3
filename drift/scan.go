package drift

import (
	"context"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
)

// Scanner compares the cluster with the snapshot in force every Interval
// (gitgate serve --drift-scan-interval), exports the counts as
// gitgate_drift_objects and hands the report to Status. It only reads
// the cluster: drift is reported, never repaired.
type Scanner struct {
	Interval  time.Duration
	Snapshots interface{ Load() *provenance.Snapshot }
	Live      Live
	Checker   *provenance.Checker
	// Status receives each report; nil keeps none.
	Status interface {
		Write(ctx context.Context, r *Report, at time.Time) error
	}
	Log logr.Logger
}

// Start scans as soon as a snapshot is loaded, then every Interval, until
// ctx ends: a replica that takes over the scan reports at once rather than
// an interval later. A failed scan is logged and counted; the metrics keep
// the last successful scan's figures.
func (s *Scanner) Start(ctx context.Context) error {
	poll := time.NewTicker(min(time.Second, s.Interval))
	for s.Snapshots.Load() == nil {
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil
		case <-poll.C:
		}
	}
	poll.Stop()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if err := s.ScanOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "drift scan failed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ScanOnce compares the cluster with the snapshot in force, if one is
// loaded. A scan cut short because ctx ended (the replica stops, or lost
// the Lease) is not counted as failed.
func (s *Scanner) ScanOnce(ctx context.Context) error {
	snap := s.Snapshots.Load()
	if snap == nil {
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.Interval)
	defer cancel()
	failed := func(err error) error {
		if parent.Err() != nil {
			return parent.Err()
		}
		scans.WithLabelValues("error").Inc()
		return err
	}
	r, err := Compare(ctx, snap, s.Live, Options{Checker: s.Checker})
	if err != nil {
		return failed(err)
	}
	now := time.Now()
	observe(r, now)
	if s.Status != nil {
		if err := s.Status.Write(ctx, r, now); err != nil {
			return failed(err)
		}
	}
	scans.WithLabelValues("success").Inc()
	return nil
}
