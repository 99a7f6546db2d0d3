package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// File is an append-only JSON-lines file rotated by size: when the next
// record would take it over MaxBytes, path is renamed to path.1 (path.1 to
// path.2, and so on; the oldest beyond MaxBackups is removed) and a new
// file is started. Rotation happens only between whole records, so no
// record is ever split across files or cut in half.
//
// A File is not safe for concurrent use; the Auditor's one writer
// goroutine owns it.
type File struct {
	path       string
	maxBytes   int64
	maxBackups int

	f    *os.File
	w    *bufio.Writer
	size int64
}

// ErrRotate marks a failed rotation after which the record was still
// written, to the file that could not be moved aside.
var ErrRotate = errors.New("rotate audit file")

// ErrBadRotation: rotating with no backup would throw away the records just
// written, so it is refused rather than silently losing the trail.
var ErrBadRotation = errors.New("audit file needs a positive size limit and at least one backup")

// OpenFile opens (or creates) path for appending.
func OpenFile(path string, maxBytes int64, maxBackups int) (*File, error) {
	if maxBytes <= 0 || maxBackups < 1 {
		return nil, ErrBadRotation
	}
	f := &File{path: path, maxBytes: maxBytes, maxBackups: maxBackups}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) open() error {
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open audit file: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return fmt.Errorf("stat audit file: %w", err)
	}
	f.f, f.size = file, st.Size()
	if f.w == nil {
		f.w = bufio.NewWriterSize(file, 64<<10)
	} else {
		f.w.Reset(file)
	}
	return nil
}

// Write appends one record; line must be one whole JSON document ending
// in a newline. It is buffered until Flush.
func (f *File) Write(line []byte) error {
	if f.f == nil {
		// A failed rotation left no file open; try again with this record.
		if err := f.open(); err != nil {
			return err
		}
	}
	var rerr error
	if f.size > 0 && f.size+int64(len(line)) > f.maxBytes {
		if rerr = f.rotate(); f.f == nil {
			return rerr
		}
	}
	n, err := f.w.Write(line)
	f.size += int64(n)
	if err != nil {
		return err
	}
	return rerr
}

// Flush writes buffered records to the file.
func (f *File) Flush() error { return f.w.Flush() }

// Close flushes and closes the file.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	err := errors.Join(f.w.Flush(), f.f.Close())
	f.f = nil
	return err
}

// rotate moves the full file aside and starts a new one. If a rename
// fails, the current file is reopened and keeps growing: an oversized
// file is better than lost records.
func (f *File) rotate() error {
	var errs []error
	if err := f.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(f.backup(f.maxBackups)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for i := f.maxBackups - 1; i >= 1; i-- {
		if err := os.Rename(f.backup(i), f.backup(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Rename(f.path, f.backup(1)); err != nil {
		errs = append(errs, err)
	}
	if err := f.open(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrRotate, errors.Join(errs...))
	}
	return nil
}

func (f *File) backup(i int) string { return f.path + "." + strconv.Itoa(i) }
