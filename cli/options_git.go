package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/peers"
	"github.com/gitgate/gitgate/sources/receiver"
	"github.com/gitgate/gitgate/sources/signature"
)

// gitOptions are the flags for reaching and trusting the Git repository:
// credentials, object cache, commit verification and the push receiver.
type gitOptions struct {
	creds gitsource.Credentials
	// caFile adds trusted CAs for an HTTPS remote.
	caFile   string
	cacheDir string
	// verifyKeyring is an OpenPGP keyring; when set, only signed heads are
	// enforced.
	verifyKeyring string
	// verifySSH is an SSH allowed_signers file; like verifyKeyring.
	verifySSH string

	receiverAddr       string
	receiverSecretFile string

	// syncConfigMap and syncNamespace name the replicas' sync signal.
	syncConfigMap, syncNamespace string
}

func (o *gitOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.creds.UsernameFile, "git-username-file", "", "File holding the HTTP basic-auth username, e.g. a mounted Secret key.")
	fs.StringVar(&o.creds.PasswordFile, "git-password-file", "", "File holding the HTTP basic-auth password or access token. Needs --git-username-file.")
	fs.StringVar(&o.creds.TokenFile, "git-token-file", "", "File holding an HTTP bearer token.")
	fs.StringVar(&o.creds.SSHKeyFile, "git-ssh-key-file", "", "File holding an SSH private key (PEM or OpenSSH). Needs --git-known-hosts-file and an ssh:// URL.")
	fs.StringVar(&o.creds.SSHKeyPasswordFile, "git-ssh-key-passphrase-file", "", "File holding the SSH key's passphrase, if it has one.")
	fs.StringVar(&o.creds.KnownHostsFile, "git-known-hosts-file", "", "known_hosts file with the Git server's host key; host keys not listed are refused.")
	fs.BoolVar(&o.creds.InsecureHTTP, "git-insecure-http", false, "Allow HTTP credentials over a plain http:// repository URL, where they travel in clear text. Off: such credentials are refused at start-up.")
	fs.StringVar(&o.caFile, "git-ca-file", "", "PEM file of CAs trusted for an https:// repository, in addition to the system's.")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "Directory keeping fetched Git objects, so a restart does not fetch again. Default: objects are kept in memory.")
	fs.StringVar(&o.verifyKeyring, "verify-commits", "", "ASCII-armored OpenPGP public keyring. When set, a head commit not signed by one of its keys is refused and the last verified revision stays enforced.")
	fs.StringVar(&o.verifySSH, "verify-commits-ssh", "", "SSH allowed_signers file (git's gpg.ssh.allowedSignersFile format). Like --verify-commits, for commits signed with SSH keys; both may be set.")
	fs.StringVar(&o.receiverAddr, "receiver-bind-address", "", "Address of the push-notification endpoint (HTTP, path /hook) for GitHub, GitLab and generic HMAC webhooks. Default: off.")
	fs.StringVar(&o.syncConfigMap, "sync-configmap", peers.DefaultConfigMap, "ConfigMap through which replicas tell each other about a newly loaded revision, so all load a pushed revision within seconds; empty turns it off (replicas then converge at their next poll).")
	fs.StringVar(&o.syncNamespace, "sync-namespace", defaultNamespace(), "Namespace of --sync-configmap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
	fs.StringVar(&o.receiverSecretFile, "receiver-secret-file", "", "File holding the receiver's shared secret (at least 16 bytes). Required with --receiver-bind-address.")
}

// Validate reports credential flags that cannot work with repoURL. It
// reads no files.
func (o *gitOptions) Validate(repoURL string) error {
	if err := o.creds.Validate(repoURL); errors.Is(err, gitsource.ErrInsecureHTTP) {
		return fmt.Errorf("%w; or set --git-insecure-http", err)
	} else if err != nil {
		return err
	}
	return nil
}

// perSource reports whether a flag that --sources-file sets per source is
// set.
func (o *gitOptions) perSource() bool {
	return o.creds != (gitsource.Credentials{}) || o.caFile != "" || o.verifyKeyring != "" || o.verifySSH != ""
}

// perSourceFlux is perSource, less --git-insecure-http, which --source
// flux applies to the HTTP credentials of every GitRepository's secretRef.
func (o *gitOptions) perSourceFlux() bool {
	creds := o.creds
	creds.InsecureHTTP = false
	return creds != (gitsource.Credentials{}) || o.caFile != "" || o.verifyKeyring != "" || o.verifySSH != ""
}

// validateReceiver reports receiver flags that cannot work.
func (o *gitOptions) validateReceiver() error {
	var errs []error
	if o.receiverAddr != "" {
		if o.receiverSecretFile == "" {
			errs = append(errs, errors.New("--receiver-bind-address needs --receiver-secret-file: the receiver never runs unauthenticated"))
		}
		if _, _, err := net.SplitHostPort(o.receiverAddr); err != nil {
			errs = append(errs, fmt.Errorf("--receiver-bind-address: %w", err))
		}
	} else if o.receiverSecretFile != "" {
		errs = append(errs, errors.New("--receiver-secret-file is set but --receiver-bind-address is not"))
	}
	return errors.Join(errs...)
}

// sshUser is the login of an ssh:// URL, "git" when it names none.
func sshUser(repoURL string) string {
	if u, err := url.Parse(repoURL); err == nil && u.User != nil && u.User.Username() != "" {
		return u.User.Username()
	}
	return "git"
}

// source builds the Git source from the flags, reading the credential and
// CA files. Errors name files, never their contents.
func (o *gitOptions) source(repoURL string, ref gitsource.Ref) (*gitsource.Source, error) {
	creds := o.creds
	creds.SSHUser = sshUser(repoURL)
	auth, err := creds.Load()
	if err != nil {
		return nil, err
	}
	var ca []byte
	if o.caFile != "" {
		if ca, err = os.ReadFile(o.caFile); err != nil {
			return nil, fmt.Errorf("--git-ca-file: %w", err)
		}
	}
	return gitsource.New(gitsource.Options{URL: repoURL, Ref: ref, Auth: auth, CABundle: ca, CacheDir: o.cacheDir})
}

// verifier loads the keys of --verify-commits and --verify-commits-ssh;
// nil when neither is set.
func (o *gitOptions) verifier() (signature.Verifier, error) {
	if o.verifyKeyring == "" && o.verifySSH == "" {
		return nil, nil
	}
	var v signature.Verifiers
	var err error
	if o.verifyKeyring != "" {
		if v.PGP, err = signature.LoadPGPKeyring(o.verifyKeyring); err != nil {
			return nil, fmt.Errorf("--verify-commits: %w", err)
		}
	}
	if o.verifySSH != "" {
		if v.SSH, err = signature.LoadAllowedSigners(o.verifySSH); err != nil {
			return nil, fmt.Errorf("--verify-commits-ssh: %w", err)
		}
	}
	return v, nil
}

// peers builds the replicas' sync signal for the sources; nil when it is
// off.
func (o *gitOptions) peers(cfg *rest.Config, syncers syncerList, log logr.Logger) (*peers.Signal, error) {
	if o.syncConfigMap == "" || len(syncers) == 0 {
		// --source flux has no syncer: every replica watches the same
		// Flux objects and polls on each change.
		return nil, nil
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("sync signal client: %w", err)
	}
	signal := &peers.Signal{
		Client: client, Namespace: o.syncNamespace, Name: o.syncConfigMap, Trigger: syncers.Trigger, Log: log,
		Current: syncers.Revision,
	}
	for _, s := range syncers {
		s.OnLoad = func(provenance.Revision) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if rev := syncers.Revision(); rev != "" {
				signal.Announce(ctx, rev)
			}
		}
	}
	return signal, nil
}

// receiver builds the push-notification server; nil when it is off.
func (o *gitOptions) receiver(t receiver.Triggerer, log logr.Logger) (*receiver.Server, error) {
	if o.receiverAddr == "" {
		return nil, nil
	}
	secret, err := receiver.LoadSecret(o.receiverSecretFile)
	if err != nil {
		return nil, fmt.Errorf("--receiver-secret-file: %w", err)
	}
	return &receiver.Server{Addr: o.receiverAddr, Handler: &receiver.Handler{Secret: secret, Trigger: t, Log: log}}, nil
}
