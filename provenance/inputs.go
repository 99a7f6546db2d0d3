package provenance

import (
	"reflect"
	"slices"
	"sort"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Input is an object a root's render reads besides its files: a ConfigMap
// or Secret a Flux Kustomization names in spec.postBuild.substituteFrom
// (a HelmRelease's spec.valuesFrom next). Whoever changes or deletes it
// changes what the GitOps agent renders and applies, past Git: the
// Checker holds a write of its data to Git, for people and controllers
// alike (ReasonRootInput).
type Input struct {
	Key Key
	// Via names the field of the root that reads it, as people read it:
	// "spec.postBuild.substituteFrom".
	Via string
}

// RootInput is one root reading an object (Snapshot.InputOf).
type RootInput struct {
	Root Root
	Via  string
}

// SetInputs records what root's render reads now, besides its files:
// the source driver calls it whenever the root's own object names other
// inputs, whether or not the render succeeds, so an input the agent reads
// is held while gitgate fails to render the root (a non-optional input
// that does not exist yet included: creating it is what would change the
// render). Remove forgets them with the root. Inputs are published at once
// once any snapshot is, else with the first Update.
func (c *Composer) SetInputs(root Root, inputs []Input) {
	in := slices.Clone(inputs)
	sort.Slice(in, func(i, j int) bool {
		if in[i].Key != in[j].Key {
			return keyLess(in[i].Key, in[j].Key)
		}
		return in[i].Via < in[j].Via
	})
	in = slices.Compact(in)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	if slices.Equal(s.inputs, in) {
		return
	}
	s.inputs = in
	if c.Store.Load() != nil {
		c.publish()
	}
}

// inputIndex is every root's inputs by object, each object's roots by
// source and name. c.mu is held.
func (c *Composer) inputIndex() map[Key][]RootInput {
	var out map[Key][]RootInput
	for root, s := range c.slots {
		for _, in := range s.inputs {
			if out == nil {
				out = map[Key][]RootInput{}
			}
			out[in.Key] = append(out[in.Key], RootInput{Root: root, Via: in.Via})
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Root != rs[j].Root {
				return rootLess(rs[i].Root, rs[j].Root)
			}
			return rs[i].Via < rs[j].Via
		})
	}
	return out
}

// InputOf lists the roots whose render reads the object k (Input), by
// source and name; nil when none does. One map lookup: the webhook asks
// it of every write.
func (s *Snapshot) InputOf(k Key) []RootInput {
	if len(s.inputs) == 0 {
		return nil
	}
	return s.inputs[k]
}

// InputsIn lists the roots whose render reads an object of namespace,
// each with what reads it once, by source and name: deleting the
// namespace deletes those inputs. It walks every input, for the rare
// delete of a namespace.
func (s *Snapshot) InputsIn(namespace string) []RootInput {
	var out []RootInput
	for k, rs := range s.inputs {
		if k.Namespace != namespace {
			continue
		}
		for _, r := range rs {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Root != out[j].Root {
			return rootLess(out[i].Root, out[j].Root)
		}
		return out[i].Via < out[j].Via
	})
	return out
}

// Readers lists the roots whose render reads k, or, for a Namespace,
// an object in it (InputsIn): for the words and records of a refusal.
func (s *Snapshot) Readers(k Key) []RootInput {
	if k.Group == "" && k.Kind == "Namespace" {
		return s.InputsIn(k.Name)
	}
	return s.InputOf(k)
}

// State is the state of root in s, or nil when it is not loaded.
func (s *Snapshot) State(root Root) *RootState { return s.roots[root] }

// inputFields are what a render reads of a ConfigMap or Secret: Flux's
// substitution reads data, and binaryData and stringData are held with it
// (the API server merges stringData into data before admission).
var inputFields = []string{"data", "binaryData", "stringData"}

// heldAsInput is the verdict on a request of an object a root's render
// reads, given res, the verdict on it as any object: one that changes
// its data is refused (ReasonRootInput) unless Git declares the object,
// res allows it, and the data holds no key Git leaves out (res held every
// key Git declares to Git's value): then res stands. A create, and a
// delete that starts the deletion, change the data.
func (c *Checker) heldAsInput(snap *Snapshot, req *Request, entry *Entry, res Result) Result {
	if req.Subresource != "" || len(snap.InputOf(req.Key())) == 0 || !changesInputData(req) {
		return res
	}
	if entry == nil {
		return Result{Reason: ReasonRootInput}
	}
	if !res.Allowed || req.Operation == Delete {
		return res
	}
	if diffs := c.undeclaredInputKeys(entry, req.Object); len(diffs) > 0 {
		return Result{Reason: ReasonRootInput, Entry: entry, Diffs: diffs}
	}
	return res
}

// changesInputData reports whether req changes what a render reads of
// its object.
func changesInputData(req *Request) bool {
	switch req.Operation {
	case Create:
		return true
	case Delete:
		return !isTerminating(req.OldObject)
	case Update:
		for _, f := range inputFields {
			a, b := req.OldObject[f], req.Object[f]
			if !(isEmptyValue(a) && isEmptyValue(b)) && !reflect.DeepEqual(a, b) {
				return true
			}
		}
	}
	return false
}

// undeclaredInputKeys lists, by path and never with a value, the keys of
// obj's data that Git does not declare for the entry: each is one more
// variable of the render, whoever sets it and whatever --fields says.
// A key an --ignore rule frees stays free.
func (c *Checker) undeclaredInputKeys(entry *Entry, obj map[string]any) []compare.Diff {
	declared := c.Decoded.declared(entry)
	ig := c.ignoreFor(entry, true)
	var diffs []compare.Diff
	for _, f := range inputFields {
		dm, _ := declared[f].(map[string]any)
		om, _ := obj[f].(map[string]any)
		for k := range om {
			if _, ok := dm[k]; !ok && !ig.SkipsAt(obj, f, k) {
				diffs = append(diffs, compare.Diff{Path: compare.Path{{Field: f, Index: -1}, {Field: k, Index: -1}}, Kind: compare.Undeclared})
			}
		}
	}
	slices.SortFunc(diffs, func(a, b compare.Diff) int { return a.Path.Compare(b.Path) })
	return diffs
}
