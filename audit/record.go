package audit

import "time"

// Decision is what gitgate did with a request that disagreed with Git.
type Decision string

// Decisions written to the audit trail.
const (
	// Denied: refused in enforce mode.
	Denied Decision = "denied"
	// Warned: allowed in warn mode, with an admission warning.
	Warned Decision = "warned"
	// Audited: allowed silently in audit mode.
	Audited Decision = "audited"
	// BreakGlass: allowed because a break-glass grant covers the caller.
	BreakGlass Decision = "break-glass"
)

// Record is one entry of the audit trail. Fields holds paths only: a
// record never carries a field's value, so Secret data cannot leak into it.
type Record struct {
	Time     time.Time `json:"time"`
	UID      string    `json:"uid"`
	Decision Decision  `json:"decision"`
	// Reason is a provenance.Reason value, or not-synced or stale.
	Reason      string   `json:"reason"`
	Mode        string   `json:"mode"`
	User        string   `json:"user"`
	Groups      []string `json:"groups,omitempty"`
	Operation   string   `json:"operation"`
	Group       string   `json:"group"`
	Version     string   `json:"version"`
	Kind        string   `json:"kind"`
	Subresource string   `json:"subresource,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Name        string   `json:"name"`
	DryRun      bool     `json:"dryRun"`
	Revision    string   `json:"revision,omitempty"`
	File        string   `json:"file,omitempty"`
	Fields      []string `json:"fields,omitempty"`
	Grant       string   `json:"grant,omitempty"`

	// ObjectUID and APIVersion locate the object for its Event; they are
	// not part of the written record.
	ObjectUID  string `json:"-"`
	APIVersion string `json:"-"`
}
