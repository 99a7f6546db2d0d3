package gitsource

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
)

func parseConstraint(r string) (*semver.Constraints, error) {
	c, err := semver.NewConstraint(r)
	if err != nil {
		return nil, fmt.Errorf("semver range %q: %w", r, err)
	}
	return c, nil
}

// highestTag picks the highest tag that is a semantic version within the
// range. Tags that are not versions are passed over, as Flux does.
func highestTag(rng string, tags []string) (string, error) {
	c, err := parseConstraint(rng)
	if err != nil {
		return "", err
	}
	var best *semver.Version
	var bestTag string
	for _, t := range tags {
		v, err := semver.NewVersion(t)
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestTag = v, t
		}
	}
	if best == nil {
		return "", fmt.Errorf("no tag matches semver range %q: %w", rng, ErrRefNotFound)
	}
	return bestTag, nil
}
