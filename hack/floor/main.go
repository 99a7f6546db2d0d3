// Command floor answers every AdmissionReview "allowed" without reading
// it: an HTTPS server on net/http, as gitgate's webhook server is, that
// decides nothing. hack/perf-floor.sh puts it under ../shared/perf/peer.sh's
// load, so the CPU a request costs before any decision (TLS, HTTP, the
// kernel's loopback, the Go scheduler) is measured, not guessed.
//
//	floor ADDR CERT KEY
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// answer is what gitgate writes for an allowed request.
const answer = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":` +
	`{"uid":"floor","allowed":true,"status":{"metadata":{},"code":200}}}` + "\n"

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: floor ADDR CERT KEY")
		os.Exit(2)
	}
	srv := &http.Server{
		Addr:              os.Args[1],
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answer)
		}),
	}
	if err := srv.ListenAndServeTLS(os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
