package receiver

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

type countTrigger struct{ n atomic.Int32 }

func (c *countTrigger) Trigger() { c.n.Add(1) }

const secret = "0123456789abcdef-secret"

func TestHandler(t *testing.T) {
	body := `{"ref":"refs/heads/main"}`
	good := Sign([]byte(body), []byte(secret))
	forged := Sign([]byte(body), []byte("another-secret-of-16+"))
	tests := []struct {
		name        string
		method      string
		body        string
		headers     map[string]string
		wantCode    int
		wantTrigger bool
	}{
		{"github push", "POST", body, map[string]string{HeaderGitHubSignature: good, HeaderGitHubEvent: "push"}, 202, true},
		{"github ping", "POST", body, map[string]string{HeaderGitHubSignature: good, HeaderGitHubEvent: "ping"}, 200, false},
		{"github forged", "POST", body, map[string]string{HeaderGitHubSignature: forged, HeaderGitHubEvent: "push"}, 401, false},
		{"github body changed", "POST", body + " ", map[string]string{HeaderGitHubSignature: good, HeaderGitHubEvent: "push"}, 401, false},
		{"github sha1", "POST", body, map[string]string{HeaderGitHubSignature: "sha1=" + strings.TrimPrefix(good, "sha256="), HeaderGitHubEvent: "push"}, 401, false},
		{"github not hex", "POST", body, map[string]string{HeaderGitHubSignature: "sha256=zz", HeaderGitHubEvent: "push"}, 401, false},
		{"gitlab push", "POST", body, map[string]string{HeaderGitLabToken: secret, HeaderGitLabEvent: "Push Hook"}, 202, true},
		{"gitlab tag push", "POST", body, map[string]string{HeaderGitLabToken: secret, HeaderGitLabEvent: "Tag Push Hook"}, 202, true},
		{"gitlab issue", "POST", body, map[string]string{HeaderGitLabToken: secret, HeaderGitLabEvent: "Issue Hook"}, 200, false},
		{"gitlab wrong token", "POST", body, map[string]string{HeaderGitLabToken: secret + "x", HeaderGitLabEvent: "Push Hook"}, 401, false},
		{"generic", "POST", body, map[string]string{HeaderSignature: good}, 202, true},
		{"generic forged", "POST", body, map[string]string{HeaderSignature: forged}, 401, false},
		{"no signature", "POST", body, nil, 401, false},
		{"get", "GET", "", map[string]string{HeaderSignature: good}, 405, false},
		{"too large", "POST", strings.Repeat("x", maxBody+1), map[string]string{HeaderSignature: good}, 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trig := &countTrigger{}
			h := &Handler{Secret: []byte(secret), Trigger: trig, Log: logr.Discard()}
			req := httptest.NewRequest(tt.method, Path, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (%s)", rec.Code, tt.wantCode, rec.Body.String())
			}
			if got := trig.n.Load() == 1; got != tt.wantTrigger {
				t.Errorf("triggered = %v, want %v", got, tt.wantTrigger)
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("response leaks the secret: %s", rec.Body.String())
			}
		})
	}
}

func TestServerServesHandler(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trig := &countTrigger{}
	srv := &Server{Listener: ln, Handler: &Handler{Secret: []byte(secret), Trigger: trig, Log: logr.Discard()}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+Path, strings.NewReader("{}"))
	req.Header.Set(HeaderSignature, Sign([]byte("{}"), []byte(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || trig.n.Load() != 1 {
		t.Errorf("status %d, triggers %d; want 202 and 1", resp.StatusCode, trig.n.Load())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
}

func FuzzHandler(f *testing.F) {
	f.Add([]byte(`{}`), "sha256=00")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		trig := &countTrigger{}
		h := &Handler{Secret: []byte(secret), Trigger: trig, Log: logr.Discard()}
		req := httptest.NewRequest("POST", Path, strings.NewReader(string(body)))
		req.Header.Set(HeaderSignature, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if sig != Sign(body, []byte(secret)) && trig.n.Load() != 0 {
			t.Fatalf("triggered with signature %q", sig)
		}
	})
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		wantErr       bool
	}{
		{"ok with newline", secret + "\n", false},
		{"short", "short\n", true},
	} {
		p := dir + "/" + strings.ReplaceAll(tt.name, " ", "_")
		if err := writeFile(p, tt.content); err != nil {
			t.Fatal(err)
		}
		got, err := LoadSecret(p)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err == nil && string(got) != secret {
			t.Errorf("%s: secret = %q", tt.name, got)
		}
	}
	if _, err := LoadSecret(dir + "/missing"); err == nil {
		t.Error("missing file: want error")
	}
}
