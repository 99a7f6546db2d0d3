package provenance

import (
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// secretsOf lists the strings of an auth method that must never be printed.
func secretsOf(auth transport.AuthMethod) []string {
	switch a := auth.(type) {
	case *githttp.BasicAuth:
		return []string{a.Password}
	case *githttp.TokenAuth:
		return []string{a.Token}
	}
	return nil
}
