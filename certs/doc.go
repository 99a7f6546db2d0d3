// Package certs gives gitgate's webhook server a serving certificate and
// keeps it fresh. It loads a mounted key pair (cert-manager or any other
// issuer) and reloads it on change, and it can mint a self-signed CA and
// serving certificate for the demo and the tests.
//
// It must never log private keys.
package certs
