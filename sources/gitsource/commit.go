package gitsource

import (
	"bytes"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitgate/gitgate/sources/signature"
)

// SignedCommit is c as a signature verifier sees it: its armored signature
// and the bytes that were signed (the commit encoded without its gpgsig
// header, as git verify-commit checks it).
func SignedCommit(c *object.Commit) (signature.Commit, error) {
	enc := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(enc); err != nil {
		return signature.Commit{}, fmt.Errorf("commit %s: encode: %w", c.Hash, err)
	}
	r, err := enc.Reader()
	if err != nil {
		return signature.Commit{}, fmt.Errorf("commit %s: encode: %w", c.Hash, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return signature.Commit{}, fmt.Errorf("commit %s: encode: %w", c.Hash, err)
	}
	return signature.Commit{Hash: c.Hash.String(), Signature: c.PGPSignature, Payload: buf.Bytes()}, nil
}
