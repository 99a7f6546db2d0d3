package webhook

import (
	"context"
	"errors"

	"github.com/gitgate/gitgate/provenance"
)

// errNoDefaulter: the Handler has no Defaulter, so an update that adds a
// subtree below Git's declared fields cannot be told from an addition.
var errNoDefaulter = errors.New("gitgate has no dry run of Git's manifest configured")

// checkAdded decides an update that Check left to the API server's
// defaults (provenance.ReasonNeedsDefaults): it adds a subtree the stored
// object lacks below fields Git declares (Git's new revision, before the
// agent applies it), and sets there a field Git does not declare. That
// field must be what the dry run of Git's manifest holds at the same place:
// the agent's server-side apply keeps fields another manager set, so an
// addition would stay. Each declaration of the object is held to its own
// manifest's defaults, learned only where it needs them. Without the
// defaults the update is refused (defaults-unknown, fail closed). Ordinary
// updates never come here: Check needs no defaults where nothing is new.
func (h *Handler) checkAdded(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request, c Checker, v verdict) verdict {
	ac, ok := c.(AddedChecker)
	if !ok || h.Defaults == nil {
		return verdict{reason: reasonNoDefaults, err: errNoDefaulter, result: v.result}
	}
	// The dry run shares the decision's deadline, as a create's does.
	ctx, cancel := context.WithDeadline(ctx, preq.Deadline)
	defer cancel()
	// No declaration at all cannot happen (Check found one); it refuses.
	out := verdict{reason: reasonNoDefaults, err: errNoDryRunAnswer, result: v.result}
	for i, e := range snap.Declarations(preq.Key()) {
		res := ac.CheckAdded(snap, preq, e, nil)
		if res.Reason == provenance.ReasonNeedsDefaults {
			defaulted, err := h.defaultsOf(ctx, snap, e)
			if err == nil && defaulted == nil {
				err = errNoDryRunAnswer
			}
			if err != nil {
				return verdict{reason: reasonNoDefaults, err: err, result: res}
			}
			res = ac.CheckAdded(snap, preq, e, defaulted)
		}
		if !res.Allowed {
			return verdict{reason: res.Reason, result: res}
		}
		if i == 0 {
			out = verdict{allowed: true, reason: res.Reason, result: res}
		}
	}
	return out
}

// errNoDryRunAnswer: the dry run of Git's manifest answered nothing (the
// object is said to exist), so there is nothing to hold the update to.
var errNoDryRunAnswer = errors.New("the dry run of Git's manifest returned no object")
