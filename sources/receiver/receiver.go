package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/go-logr/logr"
)

// Path is where the receiver listens.
const Path = "/hook"

// maxBody bounds a notification. GitHub caps payloads at 25 MB but push
// events are far smaller; the body is only read to check its signature.
const maxBody = 1 << 20

// Header names of the supported senders.
const (
	// HeaderGitHubSignature carries "sha256=" + hex HMAC-SHA256 of the body.
	HeaderGitHubSignature = "X-Hub-Signature-256"
	HeaderGitHubEvent     = "X-GitHub-Event"
	// HeaderGitLabToken carries the shared secret itself.
	HeaderGitLabToken = "X-Gitlab-Token"
	HeaderGitLabEvent = "X-Gitlab-Event"
	// HeaderSignature is the generic sender's "sha256=" + hex HMAC-SHA256,
	// as Flux's generic-hmac receiver expects.
	HeaderSignature = "X-Signature"
)

// Triggerer starts a sync; provenance.Syncer implements it. Trigger must
// not block.
type Triggerer interface{ Trigger() }

// ErrUnauthenticated is a request whose signature or token is missing or
// wrong. It gets 401 and changes nothing: anyone can reach the endpoint,
// and only the holder of the secret may make gitgate fetch.
var ErrUnauthenticated = errors.New("missing or invalid signature")

// Handler checks a notification and triggers a sync.
type Handler struct {
	Secret  []byte
	Trigger Triggerer
	Log     logr.Logger
}

// LoadSecret reads the shared secret; a trailing newline is not part of it.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read receiver secret: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) < 16 {
		return nil, fmt.Errorf("receiver secret in %s is shorter than 16 bytes", path)
	}
	return []byte(s), nil
}

// ServeHTTP answers 202 for an accepted notification (push or tag push),
// 200 for a valid notification of another kind (e.g. GitHub's ping), 401
// for a bad signature, 405 for a method other than POST, 413 for a body
// over 1 MiB.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, "", resultBadMethod, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		h.answer(w, "", resultBadRequest, http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		h.answer(w, "", resultTooLarge, http.StatusRequestEntityTooLarge)
		return
	}
	sender, push, err := authenticate(r.Header, body, h.Secret)
	if err != nil {
		h.Log.Info("push notification refused", "sender", sender, "remote", r.RemoteAddr, "reason", err.Error())
		h.answer(w, sender, resultUnauthorized, http.StatusUnauthorized)
		return
	}
	if !push {
		h.answer(w, sender, resultIgnored, http.StatusOK)
		return
	}
	h.Trigger.Trigger()
	h.Log.V(1).Info("push notification accepted", "sender", sender)
	h.answer(w, sender, resultTriggered, http.StatusAccepted)
}

func (h *Handler) answer(w http.ResponseWriter, sender, result string, code int) {
	if sender == "" {
		sender = "unknown"
	}
	requests.WithLabelValues(sender, result).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, result)
}

// authenticate identifies the sender by its header, checks its signature
// or token, and reports whether the event is a push. A request carrying no
// known header is refused: there is no unauthenticated mode.
func authenticate(hdr http.Header, body, secret []byte) (sender string, push bool, err error) {
	switch {
	case hdr.Get(HeaderGitHubSignature) != "":
		if err := checkHMAC(hdr.Get(HeaderGitHubSignature), body, secret); err != nil {
			return "github", false, err
		}
		// GitHub sends "ping" when the hook is created.
		return "github", hdr.Get(HeaderGitHubEvent) == "push" || hdr.Get(HeaderGitHubEvent) == "", nil
	case hdr.Get(HeaderGitLabToken) != "":
		if subtle.ConstantTimeCompare([]byte(hdr.Get(HeaderGitLabToken)), secret) != 1 {
			return "gitlab", false, ErrUnauthenticated
		}
		ev := hdr.Get(HeaderGitLabEvent)
		return "gitlab", ev == "" || ev == "Push Hook" || ev == "Tag Push Hook", nil
	case hdr.Get(HeaderSignature) != "":
		if err := checkHMAC(hdr.Get(HeaderSignature), body, secret); err != nil {
			return "generic", false, err
		}
		return "generic", true, nil
	}
	return "", false, ErrUnauthenticated
}

// checkHMAC checks "sha256=<hex>" against the body's HMAC-SHA256, in
// constant time.
func checkHMAC(header string, body, secret []byte) error {
	algo, sig, ok := strings.Cut(header, "=")
	if !ok || algo != "sha256" {
		return fmt.Errorf("%w: want sha256=<hex>", ErrUnauthenticated)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrUnauthenticated)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrUnauthenticated
	}
	return nil
}

// Sign returns the "sha256=<hex>" signature of body, as a sender computes
// it. Tests and the demo use it.
func Sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
