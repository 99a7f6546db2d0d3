// Package audit writes gitgate's audit trail: one JSON record per denial,
// per would-be denial in warn or audit mode, and per use of break-glass.
// Records go to the structured log, optionally to a size-rotated JSON-lines
// file, and (for denials and break-glass) to a rate-limited Kubernetes Event
// on the object.
//
// It must never block or noticeably slow an admission decision: records pass
// through a bounded queue to one writer goroutine, and a full queue drops
// the record and counts the drop in a metric. A record holds field paths
// only, never field values, so Secret data cannot reach it.
package audit
