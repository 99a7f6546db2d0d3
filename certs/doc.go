// Package certs gives gitgate's webhook server a serving certificate and
// keeps it fresh, in one of two modes:
//
//   - FileSource serves a mounted key pair (cert-manager or any other
//     issuer) and reloads it when the files change, without a restart.
//   - SelfManaged, for clusters without cert-manager, issues its own CA and
//     serving certificate, shares them between replicas through one Secret,
//     keeps the CA in the ValidatingWebhookConfiguration's caBundle, and
//     rotates them at two thirds of their lifetime: the new CA is published
//     next to the old one before any replica serves a certificate it signed,
//     and the old CA leaves the bundle only when it expires.
//
// Both report health for readiness. It must never log private keys or the
// Secret's data, and it must never create or delete the webhook
// configuration: the install manifests own it.
package certs
