package provenance

import (
	"fmt"
	"runtime"
)

// LoadError: a file's Load failed, so the revision's manifests could not
// be read. Callers tell it from an indexing failure.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// loaded is what one File.Load returned.
type loaded struct {
	objects []map[string]any
	err     error
}

// loader runs the Load of files (in the order given) on every core, but
// at most a few files ahead of the indexing that consumes them, so a cold
// sync holds a handful of parse trees at a time rather than all of them.
type loader struct {
	results []chan loaded
	next    int
	window  chan struct{}
	done    chan struct{}
}

// newLoader starts loading files; next returns their objects in order and
// stop ends the loading early. Every loader must be stopped.
func newLoader(files []File) *loader {
	ahead := 2 * runtime.GOMAXPROCS(0)
	l := &loader{
		results: make([]chan loaded, len(files)),
		window:  make(chan struct{}, ahead),
		done:    make(chan struct{}),
	}
	for i := range l.results {
		l.results[i] = make(chan loaded, 1)
	}
	go func() {
		for i, f := range files {
			select {
			case l.window <- struct{}{}:
			case <-l.done:
				return
			}
			go func() {
				objs, err := f.Load()
				if err != nil {
					err = &LoadError{Path: f.Path, Err: err}
				}
				l.results[i] <- loaded{objs, err}
			}()
		}
	}()
	return l
}

// take returns the objects of the next file, in the order newLoader got
// them.
func (l *loader) take() ([]map[string]any, error) {
	if l.next >= len(l.results) {
		return nil, fmt.Errorf("loader: no file left to take")
	}
	r := <-l.results[l.next]
	l.next++
	<-l.window
	return r.objects, r.err
}

func (l *loader) stop() { close(l.done) }
