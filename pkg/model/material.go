package model

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// Material is the TLS material of a mode, planned against what certs/ already holds.
type Material struct {
	Bundle *generate.Bundle
	// Files go into certs/ (0700): the bundle's files, and the outbound trust store when asked.
	Files []fileset.File
	// SharedCADir receives a newly minted CA (values' certificates.caDir), empty when the CA stays in certs/.
	SharedCADir string
	Warnings    []string
	// Notes say what went in, for the user to check.
	Notes []string
	// TrustedExtra are the --trust-ca certificates in the outbound stores, which status checks are there.
	TrustedExtra []*x509.Certificate
}

// gitignore keeps `git add .` in an overlay from committing keys, stores and the password.
var gitignore = fileset.File{Name: ".gitignore", Data: []byte("# Written by kubectl kestra-tls: keys, stores and their password. Never commit them.\n*\n"), Mode: fileset.Public}

// Sources names the supplied material and the password source: one reading for certs, generate and apply,
// so that they accept and refuse the same combinations (--force or --ca-dir with supplied material).
func Sources(c values.Certificates, force bool, storePassword string) generate.Sources {
	return generate.Sources{
		CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile, PKCS12File: c.PKCS12File,
		KeyPasswordFile: c.KeyPasswordFile, StorePasswordFile: c.StorePasswordFile,
		StorePassword: storePassword, Minting: c.CADir != "" || force,
	}
}

// SelfSignedIngress tells whether ingress mode issues from our own CA.
func selfSignedIngress(mode, issuerType string) bool {
	return (mode == "ingress" || mode == "gateway") && issuerType == "self-signed"
}

// planMaterial plans the certificates and stores the mode needs, reusing what certs/ already holds.
func planMaterial(opts Options) (*Material, error) {
	v := opts.Values.Values
	appCertManager := v.AppIssuedByCertManager()
	selfSigned := (selfSignedIngress(v.Mode, v.Issuer.Type) && v.IssuesCertificate()) || (appCertManager && v.Issuer.Type == "self-signed")
	backend := v.Mode == "gateway" && v.Gateway.BackendTLS
	if v.Mode != "app" && !selfSigned && !backend {
		return nil, nil
	}
	if v.GitOps && !v.Seals() {
		// cert-manager makes the CA and the keystore in the cluster: nothing for certs/. (A supplied
		// certificate's stores are made here, and sealed for git.)
		return nil, nil
	}
	c := v.Certificates
	supplied, password, err := Sources(c, opts.Force, opts.StorePassword).Load()
	if err != nil {
		return nil, err
	}
	hosts, err := pki.ParseHosts(v.Hosts)
	if err != nil {
		return nil, err
	}
	serverHosts := hosts
	if backend {
		if serverHosts, err = pki.ParseHosts(opts.BackendHosts); err != nil {
			return nil, err
		}
	}
	algorithm, err := pki.ParseKeyAlgorithm(c.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	permitted, err := pki.ParseHosts(v.CertManager.Permitted)
	if err != nil {
		return nil, fmt.Errorf("certManager.permitted (--ca-permit): %v", err)
	}
	if backend && permitted.Empty() {
		// cert-manager's issuer signs for the Gateway's public hosts, not for the Service names.
		permitted = hosts
	}
	if appCertManager && permitted.Empty() {
		// Kestra's certificate names its hosts and its Service: our issuer must be permitted both.
		if permitted, err = pki.ParseHosts(append(append([]string{}, v.Hosts...), opts.ServiceHosts...)); err != nil {
			return nil, err
		}
	}
	bundle, err := generate.Plan(generate.Request{
		Permitted: permitted,
		Dir:       filepath.Join(opts.Dir, CertsDir), CADir: c.CADir, Hosts: serverHosts, KeyAlgorithm: algorithm,
		Days: c.Days, CACommonName: c.CACommonName, Password: password, Supplied: supplied,
		CAOnly: v.IssuedByOurCAIssuer(), WithIssuer: selfSigned && v.Issuer.CertManager && backend,
		Force: opts.Force, RenewServer: opts.RenewServer, Rotation: c.Rotation, Now: opts.Now,
		// cert-manager encrypts the keystores it writes with our store password.
		PasswordOnly: appCertManager && !selfSigned, WithPassword: appCertManager,
	})
	if err != nil {
		return nil, err
	}
	m := &Material{Bundle: bundle, Files: append(append([]fileset.File{}, bundle.Files...), gitignore), Warnings: bundle.Warnings}
	if len(bundle.CAFiles) > 0 {
		// Write puts it there; say so, since every overlay sharing the CA folder will trust it from now on.
		m.SharedCADir = c.CADir
		m.Warnings = append(m.Warnings, "a new CA was minted in "+c.CADir)
	}
	if v.Mode == "app" && v.App.OutboundTrust {
		public, source, err := PublicRoots(v.App.CABundle)
		if err != nil {
			return nil, err
		}
		extra, err := trustedCAs(v.App.TrustCAs)
		if err != nil {
			return nil, err
		}
		m.TrustedExtra = extra
		ours := append(append([]*x509.Certificate{}, bundle.TrustedCerts()...), extra...)
		jks, err := outboundTruststore(public, ours, bundle.Password)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files,
			fileset.File{Name: OutboundTrustFile, Data: jks, Mode: fileset.Store},
			// The same trust for every process a task starts: Python, curl, git, Node and pip read PEM.
			fileset.File{Name: OutboundBundleFile, Data: pki.EncodeCertificates(append(ours, public...)...), Mode: fileset.Public})
		note := fmt.Sprintf("outbound trust: %d public roots from %s, plus our CA", len(public), source)
		if len(extra) > 0 {
			note += fmt.Sprintf(" and %d from --trust-ca", len(extra))
		}
		m.Notes = append(m.Notes, note+", for the JVM ("+OutboundTrustFile+") and for processes ("+OutboundBundleFile+")")
	}
	return m, nil
}

// PublicRoots are the public CAs tasks trust: Mozilla's root store as the binary carries it (the same on
// every machine that runs generate, macOS and Windows included), or the PEM bundle the user names. Roots
// that Mozilla distrusts after a date are left out: a Java trust store cannot say "until".
func PublicRoots(bundlePath string) ([]*x509.Certificate, string, error) {
	if bundlePath == "" {
		var roots []*x509.Certificate
		for root := range bundle.Roots() {
			if root.Constraint != nil {
				continue
			}
			cert, err := x509.ParseCertificate(root.Certificate)
			if err != nil {
				return nil, "", fmt.Errorf("the built-in root store: %v", err)
			}
			roots = append(roots, cert)
		}
		return roots, "Mozilla's root store built into kestra-tls (golang.org/x/crypto/x509roots/fallback)", nil
	}
	data, err := generate.ReadInput("--ca-bundle", bundlePath)
	if err != nil {
		return nil, "", err
	}
	public, err := pki.ParseCertificates(data)
	if err != nil {
		return nil, "", fmt.Errorf("--ca-bundle %s: %v (pass a PEM bundle of public CAs, or leave --ca-bundle out for the built-in one)", bundlePath, err)
	}
	return public, "--ca-bundle " + bundlePath, nil
}

// outboundTruststore holds the public CAs and ours: the guide's JAVA_OPTS trust store held only ours, so
// every call a task made to a public HTTPS site failed.
func outboundTruststore(public []*x509.Certificate, ours []*x509.Certificate, password string) ([]byte, error) {
	var entries []keystore.TrustedEntry
	for i, ca := range ours {
		alias := generate.TruststoreCAAlias
		if i > 0 {
			alias = generate.NextCAAlias // a CA rotation under way
		}
		entries = append(entries, keystore.TrustedEntry{Alias: alias, Cert: ca})
	}
	for i, cert := range public {
		entries = append(entries, keystore.TrustedEntry{Alias: "public-" + strconv.Itoa(i+1), Cert: cert})
	}
	return keystore.JKS(entries, password)
}

// Write puts a newly minted shared CA into its folder, then certs/ under dir (0700; keys 0600, stores 0644).
func (m *Material) Write(dir string, writeSharedCA bool) (fileset.Result, error) {
	if m == nil {
		return fileset.Result{}, nil
	}
	if writeSharedCA && m.SharedCADir != "" {
		if _, err := fileset.Write(m.SharedCADir, 0o700, m.Bundle.CAFiles); err != nil {
			return fileset.Result{}, err
		}
	}
	return fileset.Write(filepath.Join(dir, CertsDir), 0o700, m.Files)
}

// trustedCAs reads the --trust-ca files: each must hold at least one certificate.
func trustedCAs(files []string) ([]*x509.Certificate, error) {
	var all []*x509.Certificate
	for _, file := range files {
		data, err := generate.ReadInput("--trust-ca", file)
		if err != nil {
			return nil, err
		}
		certs, err := pki.ParseCertificates(data)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("--trust-ca %s: %v (pass a PEM file of the CA certificates to trust)", file, err)
		}
		all = append(all, certs...)
	}
	return all, nil
}
