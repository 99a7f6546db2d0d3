// Package receiver is the push-notification endpoint: GitHub, GitLab and
// generic HMAC webhooks that make gitgate fetch at once instead of at the
// next poll.
//
// A notification only ever triggers a fetch; its payload is never trusted
// for what the revision is (the remote is asked). A request without a valid
// signature or token gets 401 and triggers nothing. The package never logs
// the shared secret, signatures or payloads.
package receiver
