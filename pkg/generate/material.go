// Package generate makes the TLS material Kestra needs: a CA (reused when one exists), a server
// certificate for the hosts, and the Java stores, or validates and packs material the user supplies.
package generate

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// File names in the output directory; the manifests and Secrets refer to them.
const (
	CACertFile        = "ca.pem"
	CAKeyFile         = "ca.key"
	ServerCertFile    = "server.pem"
	ServerKeyFile     = "server.key"
	KeystoreFile      = "keystore.p12"
	TruststoreFile    = "truststore.jks"
	TruststoreP12File = "truststore.p12"
	StorePasswordFile = "store-password"
	// IssuerCertFile holds the name-constrained issuer and the root above it (the chain cert-manager
	// serves); IssuerKeyFile its key, the only CA key that goes into the cluster.
	IssuerCertFile     = "issuer.pem"
	IssuerKeyFile      = "issuer.key"
	TruststoreCAAlias  = "ca"
	minPasswordLength  = 6 // keytool refuses shorter store passwords
	wellKnownPassword  = "changeit"
	renewBeforeExpiry  = pki.ExpiryWarningWindow
	randomPasswordSize = 24
)

// Supplied is TLS material the user brings instead of letting us mint it.
type Supplied struct {
	CertPEM     []byte // leaf first, then any intermediates
	KeyPEM      []byte
	PKCS12      []byte // alternative to CertPEM+KeyPEM
	CAPEM       []byte
	KeyPassword []byte
	// Names of the files, for error messages.
	CertSource, KeySource, CASource string
	// CertFlag is the flag that named CertSource: --cert, or --pkcs12.
	CertFlag string
}

// Request says what material to produce.
type Request struct {
	// Dir holds the material; existing files there are reused when they still fit the request.
	Dir string
	// CADir, when set, is a CA folder shared across runs (like mkcert's CAROOT).
	CADir        string
	Hosts        pki.Hosts
	KeyAlgorithm pki.KeyAlgorithm
	Days         int
	CACommonName string
	// Password for the stores; empty means reuse the one in Dir, or make a random one.
	Password string
	// Force replaces an existing CA and server certificate.
	Force bool
	// RenewServer issues a new server certificate from the kept CA even when the current one still fits.
	RenewServer bool
	// Rotation is the step of a CA rotation under way (rotate-ca): RotationTrust trusts the next CA beside
	// the current one, RotationIssue also signs the server certificate with it; empty: no rotation.
	Rotation string
	// CAOnly makes (or reuses) just the CA, and the name-constrained issuer under it that cert-manager
	// signs with.
	CAOnly bool
	// WithIssuer signs that issuer beside the server certificate: the cluster's cert-manager issues for the
	// public hosts (a Gateway) while Kestra serves its own certificate behind it (backend TLS).
	WithIssuer bool
	// PasswordOnly makes only the store password: cert-manager issues the certificate and writes the
	// stores from an issuer of the user's.
	PasswordOnly bool
	// WithPassword writes the store password beside the CA (CAOnly): cert-manager writes the stores.
	WithPassword bool
	// Permitted overrides the names the issuer may sign (default: Hosts).
	Permitted pki.Hosts
	Supplied  *Supplied
	// ClientCAs, when given, are the only CAs the truststore holds (Micronaut's client authentication,
	// --client-ca): client certificates of theirs are accepted, ours are not.
	ClientCAs []*x509.Certificate
	Now       time.Time
}

// Bundle is the material, ready to be written.
type Bundle struct {
	// ClientCAs replace our CAs in the truststore (Request.ClientCAs).
	ClientCAs []*x509.Certificate
	CA        *x509.Certificate
	// NextCA is the CA a rotation moves to, trusted beside CA; nil without a rotation.
	NextCA *x509.Certificate
	// Issuer is the name-constrained intermediate for cert-manager (CAOnly), nil when the CA predates
	// constraints and cannot sign one.
	Issuer   *x509.Certificate
	Server   pki.Pair
	Chain    []*x509.Certificate // leaf first, then intermediates and the CA
	Password string
	Hosts    pki.Hosts
	// Files go into Request.Dir; CAFiles into Request.CADir when that is set.
	Files    []fileset.File
	CAFiles  []fileset.File
	Reused   []string
	Warnings []string
}

// Validate checks the request before any work; each error names the flag to fix.
func (r Request) Validate() error {
	if r.Dir == "" {
		return errors.New("an output directory is required (-o DIR)")
	}
	if err := checkOutputDir(r.Dir, "-o"); err != nil {
		return err
	}
	if r.CADir != "" {
		if err := checkOutputDir(r.CADir, "--ca-dir"); err != nil {
			return err
		}
	}
	if r.CAOnly && r.Supplied != nil {
		return errors.New("--cert, --key and --pkcs12 can't be used when cert-manager issues the certificate from our CA (drop them, or add --no-cert-manager)")
	}
	if r.Supplied == nil && !r.CAOnly && r.Hosts.Empty() {
		return errors.New("at least one --host is required, e.g. --host kestra.example.com")
	}
	if r.Days < 1 || r.Days > pki.MaxServerDays {
		return fmt.Errorf("--days %d is out of range: use 1 to %d (browsers and macOS refuse server certificates valid longer than %d days)", r.Days, pki.MaxServerDays, pki.MaxServerDays)
	}
	if r.CACommonName == "" {
		return errors.New("--ca-common-name must not be empty")
	}
	if limit := pki.MaxCommonName - len(issuerSuffix); len(r.CACommonName) > limit {
		return fmt.Errorf("--ca-common-name is %d characters: a common name holds at most %d (RFC 5280), and the issuer under the CA is named after it (%q): use at most %d", len(r.CACommonName), pki.MaxCommonName, r.CACommonName[:10]+"..."+issuerSuffix, limit)
	}
	if r.Supplied == nil && !r.CAOnly && r.Hosts.CommonName() == r.CACommonName {
		return fmt.Errorf("--ca-common-name %q equals the first --host: TLS clients would take the server certificate for self-signed (choose another CA name)", r.CACommonName)
	}
	if r.Password != "" && len(r.Password) < minPasswordLength {
		return fmt.Errorf("the store password must be at least %d characters: keytool and Java tooling refuse shorter ones", minPasswordLength)
	}
	return nil
}

// issuerSuffix names the issuer under our CA after it.
const issuerSuffix = " issuer"

// checkOutputDir fails early when dir, or the nearest part of it that exists, is not a directory.
func checkOutputDir(dir, flag string) error {
	for path := filepath.Clean(dir); ; path = filepath.Dir(path) {
		info, err := os.Stat(path)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("%s %s: %s is not a directory (choose another directory with %s)", flag, dir, path, flag)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) || path == filepath.Dir(path) {
			return fmt.Errorf("%s %s: %v (choose another directory with %s)", flag, dir, err, flag)
		}
	}
}

// Plan decides what to reuse and what to make, and returns the bundle without writing anything.
func Plan(req Request) (*Bundle, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	b := &Bundle{Hosts: req.Hosts, ClientCAs: req.ClientCAs}
	if err := b.resolvePassword(req); err != nil {
		return nil, err
	}
	passwordFile := fileset.File{Name: StorePasswordFile, Data: []byte(b.Password), Mode: fileset.Private}
	if req.PasswordOnly {
		b.Files = append(b.Files, passwordFile)
		return b, nil
	}
	var err error
	if req.Supplied != nil {
		err = b.useSupplied(req)
	} else {
		err = b.mint(req)
	}
	if err != nil {
		return nil, err
	}
	if req.CAOnly {
		if req.WithPassword {
			b.Files = append(b.Files, passwordFile)
		}
		return b, nil
	}
	return b, b.pack(req)
}

func (b *Bundle) resolvePassword(req Request) error {
	switch {
	case req.Password != "":
		b.Password = req.Password
		if req.Password == wellKnownPassword {
			b.Warnings = append(b.Warnings, `the store password is "changeit", Java's well-known default: anyone who gets the stores can open them`)
		}
	default:
		existing, err := os.ReadFile(filepath.Join(req.Dir, StorePasswordFile))
		switch {
		case err == nil && len(existing) >= minPasswordLength:
			b.Password = string(existing)
			b.Reused = append(b.Reused, "store password")
		case err == nil || errors.Is(err, fs.ErrNotExist):
			random := make([]byte, randomPasswordSize)
			if _, err := rand.Read(random); err != nil {
				return err
			}
			b.Password = base64.RawURLEncoding.EncodeToString(random)
		default:
			return fmt.Errorf("cannot read %s: %w", filepath.Join(req.Dir, StorePasswordFile), err)
		}
	}
	return nil
}

func (b *Bundle) mint(req Request) error {
	caDir := req.CADir
	if caDir == "" {
		caDir = req.Dir
	}
	var ca pki.Pair
	var caFound bool
	if !req.Force {
		var err error
		ca, caFound, err = loadCA(caDir, req.Now)
		if err != nil {
			return err
		}
	}
	var next pki.Pair
	if req.Rotation != "" {
		if !caFound {
			return fmt.Errorf("certificates.rotation is %q but %s holds no CA to rotate from: restore %s and %s, or end the rotation with --set certificates.rotation=", req.Rotation, caDir, CACertFile, CAKeyFile)
		}
		var err error
		if next, err = b.planNextCA(req, caDir); err != nil {
			return err
		}
	}
	// signer signs the server certificate: the next CA from step 2 of a rotation on (which needs a CA
	// found), else the CA, set again below when it is minted.
	signer := ca
	if req.Rotation == RotationIssue {
		signer = next
	}
	var server pki.Pair
	serverFound := false
	if caFound && !req.Force && !req.CAOnly && !req.RenewServer {
		server, serverFound = reusableServer(req, signer)
	}
	if req.CAOnly {
		serverFound = true // nothing to issue
	}

	// RSA-4096 keys take about a second each: make the CA's and the server's at the same time.
	type generated struct {
		key pki.Pair
		err error
	}
	caKey := make(chan generated, 1)
	if !caFound {
		go func() {
			key, err := req.KeyAlgorithm.GenerateKey()
			caKey <- generated{pki.Pair{Key: key}, err}
		}()
	}
	var serverKey generated
	if !serverFound {
		serverKey.key.Key, serverKey.err = req.KeyAlgorithm.GenerateKey()
	}
	if !caFound {
		got := <-caKey
		if got.err != nil {
			return fmt.Errorf("generating the CA key: %w", got.err)
		}
		var err error
		ca, err = pki.NewCA(pki.CARequest{CommonName: req.CACommonName, Days: pki.DefaultCADays, Key: got.key.Key, Now: req.Now})
		if err != nil {
			return err
		}
		signer = ca
		caFiles, err := caFiles(ca)
		if err != nil {
			return err
		}
		if req.CADir != "" {
			b.CAFiles = caFiles
		} else {
			b.Files = append(b.Files, caFiles...)
		}
	} else {
		b.Reused = append(b.Reused, "CA from "+caDir)
		if req.CADir == "" {
			// Rewriting the same bytes keeps the CA files part of the set (and their modes right).
			files, err := caFiles(ca)
			if err != nil {
				return err
			}
			b.Files = append(b.Files, files...)
		}
	}
	if !serverFound {
		if serverKey.err != nil {
			return fmt.Errorf("generating the server key: %w", serverKey.err)
		}
		cert, err := pki.IssueServer(signer, pki.ServerRequest{Hosts: req.Hosts, Days: req.Days, Key: serverKey.key.Key, Now: req.Now})
		if err != nil {
			return err
		}
		server = pki.Pair{Cert: cert, Key: serverKey.key.Key}
	} else if !req.CAOnly {
		b.Reused = append(b.Reused, "server certificate")
	}
	if req.CADir != "" {
		if (req.CAOnly || req.WithIssuer) && !pki.CanSignIssuer(ca.Cert) {
			// A CA without a constrained issuer is what cert-manager signs with: its key travels into the
			// output. A CA that signs an issuer keeps its key in --ca-dir.
			files, err := caFiles(ca)
			if err != nil {
				return err
			}
			b.Files = append(b.Files, files...)
		} else {
			b.Files = append(b.Files, fileset.File{Name: CACertFile, Data: pki.EncodeCertificates(ca.Cert), Mode: fileset.Public})
		}
	}
	b.CA = ca.Cert
	if req.CAOnly {
		// From step 2 of a rotation the issuer cert-manager holds is the next CA's, so that what it issues
		// chains to the next CA; the current one's issuer no longer verifies against it and is replaced.
		return b.planIssuer(req, signer)
	}
	b.Server = server
	b.Chain = []*x509.Certificate{server.Cert, signer.Cert}
	if req.WithIssuer {
		return b.planIssuer(req, ca)
	}
	return nil
}

// planIssuer reuses or signs the name-constrained issuer that the cluster's cert-manager holds. A CA from
// before constraints (path length 0) cannot sign one: cert-manager then gets the CA itself, with a warning.
func (b *Bundle) planIssuer(req Request, ca pki.Pair) error {
	if !pki.CanSignIssuer(ca.Cert) {
		b.Warnings = append(b.Warnings, fmt.Sprintf("the CA %q has no name constraints and cannot sign a constrained issuer, so cert-manager gets the CA itself: anyone who may create a Certificate for its issuer can have it sign any name, which everyone who imported ca.pem then trusts. Pass --force to mint a new CA with a constrained issuer (clients must then trust the new ca.pem)", ca.Cert.Subject.CommonName))
		return nil
	}
	permitted := req.Permitted
	if permitted.Empty() {
		permitted = req.Hosts
	}
	issuer, found := reusableIssuer(req, ca, permitted)
	if found {
		b.Reused = append(b.Reused, "issuer")
	} else {
		key, err := req.KeyAlgorithm.GenerateKey()
		if err != nil {
			return fmt.Errorf("generating the issuer key: %w", err)
		}
		if issuer, err = pki.NewIssuer(ca, pki.IssuerRequest{CommonName: req.CACommonName + issuerSuffix, Permitted: permitted, Days: pki.DefaultCADays, Key: key, Now: req.Now}); err != nil {
			return err
		}
	}
	keyPEM, err := pki.EncodePrivateKey(issuer.Key)
	if err != nil {
		return err
	}
	b.Issuer = issuer.Cert
	b.Files = append(b.Files,
		fileset.File{Name: IssuerCertFile, Data: pki.EncodeCertificates(issuer.Cert, ca.Cert), Mode: fileset.Public},
		fileset.File{Name: IssuerKeyFile, Data: keyPEM, Mode: fileset.Private})
	return nil
}

// reusableIssuer returns the issuer already in Dir when the CA signed it, it permits exactly these names,
// keeps the key algorithm, and is not due for renewal.
func reusableIssuer(req Request, ca pki.Pair, permitted pki.Hosts) (pki.Pair, bool) {
	pair, ok := readPair(req.Dir, IssuerCertFile, IssuerKeyFile)
	if !ok {
		return pki.Pair{}, false
	}
	issuer, key := pair.Cert, pair.Key
	var ips, wantIPs []string
	for _, r := range issuer.PermittedIPRanges {
		ips = append(ips, r.IP.String())
	}
	for _, ip := range permitted.IPs {
		wantIPs = append(wantIPs, ip.String())
	}
	if !pki.KeyMatches(key, issuer.PublicKey) || issuer.CheckSignatureFrom(ca.Cert) != nil ||
		pki.AlgorithmOf(issuer.PublicKey) != req.KeyAlgorithm || issuer.NotAfter.Sub(req.Now) < renewBeforeExpiry ||
		!sameStrings(issuer.PermittedDNSDomains, pki.PermittedDomains(permitted)) || !sameStrings(ips, wantIPs) {
		return pki.Pair{}, false
	}
	return pki.Pair{Cert: issuer, Key: key}, true
}

// readPair reads a certificate (the first of its file) and its key from dir; anything missing or
// unreadable is simply not reusable.
func readPair(dir, certFile, keyFile string) (pki.Pair, bool) {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, certFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, keyFile))
	if err1 != nil || err2 != nil {
		return pki.Pair{}, false
	}
	certs, err1 := pki.ParseCertificates(certPEM)
	key, err2 := pki.ParsePrivateKey(keyPEM, nil)
	if err1 != nil || err2 != nil {
		return pki.Pair{}, false
	}
	return pki.Pair{Cert: certs[0], Key: key}, true
}

func sameStrings(a, b []string) bool {
	return pki.Hosts{DNSNames: a}.SameSet(pki.Hosts{DNSNames: b})
}

func caFiles(ca pki.Pair) ([]fileset.File, error) {
	keyPEM, err := pki.EncodePrivateKey(ca.Key)
	if err != nil {
		return nil, err
	}
	return []fileset.File{
		{Name: CACertFile, Data: pki.EncodeCertificates(ca.Cert), Mode: fileset.Public},
		{Name: CAKeyFile, Data: keyPEM, Mode: fileset.Private},
	}, nil
}

// loadCA reads ca.pem and ca.key from dir. Finding neither is not an error; finding one, or a pair
// that doesn't fit, is: silently minting a new CA would break every client that trusts the old one.
func loadCA(dir string, now time.Time) (pki.Pair, bool, error) {
	return loadCAFrom(dir, CACertFile, CAKeyFile, now)
}

func loadCAFrom(dir, certFile, keyFile string, now time.Time) (pki.Pair, bool, error) {
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist) {
		return pki.Pair{}, false, nil
	}
	for _, err := range []error{certErr, keyErr} {
		if errors.Is(err, fs.ErrNotExist) {
			return pki.Pair{}, false, fmt.Errorf("%s holds only one of %s and %s: restore the other, or pass --force to mint a new CA (clients trusting the old one will then fail)", dir, certFile, keyFile)
		}
		if err != nil {
			return pki.Pair{}, false, fmt.Errorf("cannot read the CA: %w", err)
		}
	}
	certs, err := pki.ParseCertificates(certPEM)
	if err != nil {
		return pki.Pair{}, false, fmt.Errorf("%s: %v (fix it, or pass --force to mint a new CA)", certPath, err)
	}
	key, err := pki.ParsePrivateKey(keyPEM, nil)
	if err != nil {
		return pki.Pair{}, false, fmt.Errorf("%s: %v (fix it, or pass --force to mint a new CA)", keyPath, err)
	}
	ca := pki.Pair{Cert: certs[0], Key: key}
	switch {
	case !pki.KeyMatches(key, ca.Cert.PublicKey):
		return pki.Pair{}, false, fmt.Errorf("%s does not belong to %s: restore the matching pair, or pass --force to mint a new CA", keyPath, certPath)
	case !ca.Cert.IsCA:
		return pki.Pair{}, false, fmt.Errorf("%s is not a CA certificate: pass --force to mint a new CA", certPath)
	case now.After(ca.Cert.NotAfter):
		return pki.Pair{}, false, fmt.Errorf("the CA in %s expired on %s: pass --force to mint a new one", certPath, ca.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return ca, true, nil
}

// reusableServer returns the server certificate already in Dir when it is exactly what the request
// would issue: same CA, hosts, key algorithm and lifetime, and not due for renewal.
func reusableServer(req Request, ca pki.Pair) (pki.Pair, bool) {
	pair, ok := readPair(req.Dir, ServerCertFile, ServerKeyFile)
	if !ok {
		return pki.Pair{}, false
	}
	leaf, key := pair.Cert, pair.Key
	if !pki.KeyMatches(key, leaf.PublicKey) || pki.AlgorithmOf(leaf.PublicKey) != req.KeyAlgorithm ||
		leaf.Subject.CommonName != req.Hosts.CommonName() || !pki.HostsOf(leaf).SameSet(req.Hosts) ||
		pki.ValidityDays(leaf) != req.Days || leaf.NotAfter.Sub(req.Now) < renewBeforeExpiry {
		return pki.Pair{}, false
	}
	if _, err := pki.CheckServerChain(pki.Pair{Cert: leaf, Key: key}, nil, ca.Cert, req.Hosts, req.Now); err != nil {
		return pki.Pair{}, false
	}
	return pki.Pair{Cert: leaf, Key: key}, true
}

func (b *Bundle) useSupplied(req Request) error {
	s := req.Supplied
	var key pki.Pair
	var chain []*x509.Certificate
	if s.PKCS12 != nil {
		signer, certs, err := pki.ParsePKCS12(s.PKCS12, string(s.KeyPassword))
		if err != nil {
			return fmt.Errorf("%s %s: %v", s.CertFlag, s.CertSource, err)
		}
		key, chain = pki.Pair{Cert: certs[0], Key: signer}, certs
	} else {
		certs, err := pki.ParseCertificates(s.CertPEM)
		if err != nil {
			return fmt.Errorf("--cert %s: %v (pass a PEM file with the server certificate first)", s.CertSource, err)
		}
		signer, err := pki.ParsePrivateKey(s.KeyPEM, s.KeyPassword)
		if err != nil {
			return fmt.Errorf("--key %s: %v", s.KeySource, err)
		}
		key, chain = pki.Pair{Cert: certs[0], Key: signer}, certs
	}
	var ca *x509.Certificate
	if s.CAPEM != nil {
		cas, err := pki.ParseCertificates(s.CAPEM)
		if err != nil {
			return fmt.Errorf("--ca %s: %v (pass the PEM certificate of the CA that signed the server certificate)", s.CASource, err)
		}
		ca = cas[0]
	} else if last := chain[len(chain)-1]; len(chain) > 1 && last.IsCA && last.CheckSignatureFrom(last) == nil {
		ca = last
	} else {
		return fmt.Errorf("--ca is required with %s %s: pass the PEM certificate of the CA that signed it (it goes into the truststore)", s.CertFlag, s.CertSource)
	}
	var intermediates []*x509.Certificate
	for _, cert := range chain[1:] {
		if !cert.Equal(ca) {
			intermediates = append(intermediates, cert)
		}
	}
	warnings, err := pki.CheckServerChain(key, intermediates, ca, req.Hosts, req.Now)
	if err != nil {
		sources := s.CertFlag + " " + s.CertSource
		if s.KeySource != "" {
			sources += " (--key " + s.KeySource + ")"
		}
		if s.CASource != "" {
			sources += " and --ca " + s.CASource
		}
		return fmt.Errorf("%s: %v", sources, err)
	}
	b.Warnings = append(b.Warnings, warnings...)
	if b.Hosts.Empty() {
		b.Hosts = pki.HostsOf(key.Cert)
	}
	b.CA = ca
	b.Server = key
	b.Chain = append(append([]*x509.Certificate{key.Cert}, intermediates...), ca)
	b.Files = append(b.Files, fileset.File{Name: CACertFile, Data: pki.EncodeCertificates(ca), Mode: fileset.Public})
	return nil
}

// pack encodes the server files and the stores. Stores that already hold the same content under the
// same password are kept byte for byte: PKCS#12 salts are random, and a needless change would roll pods.
func (b *Bundle) pack(req Request) error {
	keyPEM, err := pki.EncodePrivateKey(b.Server.Key)
	if err != nil {
		return err
	}
	serverChain := b.Chain[:len(b.Chain)-1] // servers send intermediates, not the root
	trusted := b.Trusted()

	// The two PKCS#12 files each cost a few PBKDF2 runs: encode (or check) them at the same time.
	var keystoreData []byte
	var keystoreErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		keystoreData = readIf(filepath.Join(req.Dir, KeystoreFile), func(data []byte) bool {
			return keystore.PKCS12Holds(data, b.Password, b.Server.Key, b.Chain)
		})
		if keystoreData == nil {
			keystoreData, keystoreErr = keystore.PKCS12(b.Server.Key, b.Chain, b.Password)
		}
	}()
	trustP12 := readIf(filepath.Join(req.Dir, TruststoreP12File), func(data []byte) bool {
		return keystore.PKCS12TruststoreHolds(data, b.Password, trusted)
	})
	if trustP12 == nil {
		if trustP12, err = keystore.PKCS12Truststore(trusted, b.Password); err != nil {
			<-done
			return err
		}
	}
	jksData, err := keystore.JKS(trusted, b.Password)
	<-done
	if err != nil {
		return err
	}
	if keystoreErr != nil {
		return keystoreErr
	}
	b.Files = append(b.Files,
		fileset.File{Name: ServerCertFile, Data: pki.EncodeCertificates(serverChain...), Mode: fileset.Public},
		fileset.File{Name: ServerKeyFile, Data: keyPEM, Mode: fileset.Private},
		fileset.File{Name: KeystoreFile, Data: keystoreData, Mode: fileset.Store},
		fileset.File{Name: TruststoreFile, Data: jksData, Mode: fileset.Store},
		fileset.File{Name: TruststoreP12File, Data: trustP12, Mode: fileset.Store},
		fileset.File{Name: StorePasswordFile, Data: []byte(b.Password), Mode: fileset.Private},
	)
	return nil
}

func readIf(path string, keep func([]byte) bool) []byte {
	data, err := os.ReadFile(path)
	if err != nil || !keep(data) {
		return nil
	}
	return data
}

// Write puts the bundle on disk: the CA folder first, so that a server certificate is never left
// without the CA that signed it.
func (b *Bundle) Write(req Request) (fileset.Result, error) {
	var all fileset.Result
	end, err := fileset.Section()
	if err != nil {
		return all, err
	}
	defer end()
	if len(b.CAFiles) > 0 {
		result, err := fileset.Write(req.CADir, 0o700, b.CAFiles)
		if err != nil {
			return all, err
		}
		for _, name := range result.Written {
			all.Written = append(all.Written, filepath.Join(req.CADir, name))
		}
	}
	result, err := fileset.Write(req.Dir, 0o700, b.Files)
	if err != nil {
		return all, err
	}
	for _, name := range result.Written {
		all.Written = append(all.Written, filepath.Join(req.Dir, name))
	}
	for _, name := range result.Unchanged {
		all.Unchanged = append(all.Unchanged, filepath.Join(req.Dir, name))
	}
	return all, nil
}
