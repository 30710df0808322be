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
	// PublicFiles go into the overlay itself (OutboundDir), committed with it: the outbound trust made of
	// public certificates only, when cert-manager writes Kestra's stores (PublicOutboundTrust).
	PublicFiles []fileset.File
}

// OutboundDir is the overlay folder of the public outbound stores, which the ConfigMap OutboundConfigMap
// is generated from.
const OutboundDir = "outbound"

// OutboundConfigMap holds the outbound stores when cert-manager writes Kestra's keystore: they cannot go
// into its Secret, and hold only public certificates.
const OutboundConfigMap = "kestra-tls-outbound"

// PublicStorePassword opens the outbound truststore of public certificates (OutboundConfigMap): Java's
// own default, since it guards nothing there, and the JVM reads trusted entries without it anyway.
const PublicStorePassword = "changeit"

// publicOutbound is the outbound trust of an install whose stores cert-manager writes: the public roots,
// the --trust-ca certificates, and ours when generate holds our CA (not with --gitops, where cert-manager
// makes it in the cluster).
func publicOutbound(v values.Values, ours []*x509.Certificate) (*Material, error) {
	public, source, err := PublicRoots(v.App.CABundle)
	if err != nil {
		return nil, err
	}
	extra, err := trustedCAs(v.App.TrustCAs)
	if err != nil {
		return nil, err
	}
	trusted := append(append([]*x509.Certificate{}, ours...), extra...)
	jks, err := outboundTruststore(public, trusted, PublicStorePassword)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("outbound trust: %d public roots from %s", len(public), source)
	if len(ours) > 0 {
		note += ", plus our CA"
	}
	if len(extra) > 0 {
		note += fmt.Sprintf(", plus %d from --trust-ca", len(extra))
	}
	note += fmt.Sprintf(", in the ConfigMap %s (public certificates only: %s/ is committed with the overlay)", OutboundConfigMap, OutboundDir)
	if v.GitOps {
		note += "; our CA is made in the cluster and is not in it: give tasks that call Kestra itself its root with --trust-ca (kubectl kestra-tls ca > kestra-ca.pem)"
	}
	if v.App.TrustManager {
		// trust-manager writes the ConfigMap: nothing for the overlay but the --trust-ca certificates, inline.
		note = fmt.Sprintf("outbound trust: trust-manager's default CA package plus %d from --trust-ca, kept by trust-manager in the ConfigMap its Bundle (trust-bundle.yaml) writes into Kestra's namespace; trust-manager must run in the cluster", len(extra))
		return &Material{TrustedExtra: extra, Notes: []string{note}}, nil
	}
	return &Material{
		PublicFiles: []fileset.File{
			{Name: OutboundDir + "/" + OutboundTrustFile, Data: jks, Mode: fileset.Public},
			{Name: OutboundDir + "/" + OutboundBundleFile, Data: pki.EncodeCertificates(append(trusted, public...)...), Mode: fileset.Public},
		},
		TrustedExtra: extra,
		Notes:        []string{note},
	}, nil
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
		// certificate's stores are made here, and sealed for git.) The outbound trust is public material.
		if v.PublicOutboundTrust() {
			return publicOutbound(v, nil)
		}
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
	clientCAs, err := clientCAs(v.App.ClientCAFile)
	if err != nil {
		return nil, err
	}
	bundle, err := generate.Plan(generate.Request{
		Permitted: permitted, ClientCAs: clientCAs,
		Dir: filepath.Join(opts.Dir, CertsDir), CADir: c.CADir, Hosts: serverHosts, KeyAlgorithm: algorithm,
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
	if v.PublicOutboundTrust() {
		outbound, err := publicOutbound(v, bundle.TrustedCerts())
		if err != nil {
			return nil, err
		}
		m.PublicFiles, m.TrustedExtra, m.Notes = outbound.PublicFiles, outbound.TrustedExtra, append(m.Notes, outbound.Notes...)
	} else if v.Mode == "app" && v.App.OutboundTrust {
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

// clientCAs reads --client-ca: the CAs whose client certificates Kestra accepts, nil when not given.
func clientCAs(file string) ([]*x509.Certificate, error) {
	if file == "" {
		return nil, nil
	}
	data, err := generate.ReadInput("--client-ca", file)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("--client-ca %s: %v", file, err)
	}
	for _, cert := range certs {
		if !cert.IsCA {
			return nil, fmt.Errorf("--client-ca %s: %q is not a CA certificate: give the certificate of the CA that signs your clients' certificates", file, cert.Subject.CommonName)
		}
	}
	return certs, nil
}
