package provenance

import (
	pathpkg "path"
	"strings"
)

// File is one manifest file (or rendered kustomize root) of a revision.
type File struct {
	// Path is the file in the repository; for a kustomize root, its
	// directory.
	Path string
	// Kustomize marks a rendered kustomize root: Path is the root's
	// directory and Objects what its build yields. Each object is declared
	// by the file kustomize recorded as its origin (Entry.Path), within
	// the root (Entry.Kustomize).
	Kustomize bool
	// ID identifies the content: a blob hash, or the hash of a kustomize
	// root's inputs. With an ID, the Indexer reuses the entries it built
	// for the same Path and ID in the previous revision.
	ID string
	// Objects are the parsed manifests. They may be nil when
	// Indexer.Cached(Path, ID) said the entries are cached, or when Load
	// is set; the Indexer may change them as it normalizes them.
	Objects []map[string]any
	// Load parses the file when Objects is nil: Build calls it a few files
	// ahead of indexing them, so a cold sync of thousands of files never
	// holds every parse tree at once. Build collects CRDs before it
	// indexes anything, so a file with a Load should declare no
	// CustomResourceDefinition: should one turn out to, Build reads every
	// such file up front and builds again. A file passed by identity only
	// (cached) has neither Objects nor Load; one parsed to nothing has an
	// empty, non-nil Objects.
	Load func() ([]map[string]any, error)
	// AgentOnly marks every object of the file as written by the agent
	// alone (Entry.AgentOnly).
	AgentOnly bool
	// HideValues marks every object of the file as holding values that
	// may come from a Secret (Entry.HideValues).
	HideValues bool
	// Transient marks every object of the file as one the agent makes and
	// removes in the course of its work (a Helm hook or test, a Helm
	// release record): Entry.Transient. Such a file is AgentOnly too.
	Transient bool
	// Indeterminate lists JSON pointers (RFC 6901, list elements by
	// position) of the fields of every object of the file whose values no
	// render reproduces (a random token, the clock, a lookup of the
	// cluster): Entry.Indeterminate. "" stands for the whole object.
	Indeterminate []string
	// Ignore lists JSON pointers of the fields of every object of the
	// file that the root leaves to others (a HelmRelease's
	// driftDetection.ignore): free in every comparison with the entry, as
	// an --ignore rule naming the object would make them.
	Ignore []string
	// ControllerIgnores are fields its root's agent leaves alone when
	// controllers change them (Argo CD's ignoreDifferences by JSON
	// pointer or by field manager): rules for the file's objects they
	// match, which free those fields for a controller's write
	// (Checker.Controller) and never for a person's.
	ControllerIgnores []IgnoreRule
}

// origin names the file as errors show it, as Entry.Origin names an entry
// declared by the root as a whole.
func (f File) origin() string {
	if f.Kustomize {
		return origin(f.Path, f.Path)
	}
	return f.Path
}

// Origin names where the object is declared, as denials, audit records,
// drift reports and the client commands show it: its file's path; for an
// object of a kustomize root, the file kustomize recorded as its origin
// followed by the root, "apps/base/web.yaml (kustomize apps/prod)", or the
// root alone when kustomize recorded none, "apps/prod (kustomize)".
func (e *Entry) Origin() string { return origin(e.Path, e.Kustomize) }

func origin(path, kustomize string) string {
	switch kustomize {
	case "":
		return path
	case path:
		return path + " (kustomize)"
	}
	return path + " (kustomize " + kustomize + ")"
}

// originFile is the repository file that declares an object of the
// kustomize root at root, when kustomize recorded it (buildMetadata:
// [originAnnotations] writes config.kubernetes.io/origin with the path
// relative to the root): "apps/base/web.yaml" of root "apps/prod".
// Otherwise, and for objects a generator made or a remote base holds, it
// is the root itself.
func originFile(root string, meta map[string]any) string {
	ann, _ := meta["annotations"].(map[string]any)
	origin, _ := ann["config.kubernetes.io/origin"].(string)
	var file string
	for _, line := range strings.Split(origin, "\n") {
		if v, ok := strings.CutPrefix(line, "path: "); ok {
			file = strings.Trim(strings.TrimSpace(v), `"'`)
			break
		}
	}
	if file == "" || strings.Contains(origin, "repo: ") || strings.Contains(origin, "configuredIn: ") {
		return root
	}
	joined := pathpkg.Join(root, file)
	if root == "." {
		joined = pathpkg.Clean(file)
	}
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return root
	}
	return joined
}
