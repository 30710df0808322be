package overlays

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/seal"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

const (
	// SealedFile holds, with --gitops and a certificate the user supplies, Kestra's stores and their
	// password as SealedSecrets.
	SealedFile = "sealed-secrets.yaml"
	// sealedDigestsFile, in certs/ (never committed), records what each SealedSecret was sealed from.
	sealedDigestsFile = "sealed-secrets.sum"
)

const sealedHeader = `# Kestra's stores and their password, sealed by kubectl kestra-tls generate --seal-with: only the Sealed
# Secrets controller whose certificate has SHA-256 %s opens them, in the cluster.
# Cluster-wide scope, so that kustomize may set their namespace. Re-run generate instead of editing.
`

// sopsSuffix ends the name of each Secret SOPS encrypted with --sops-age, one per file as the sops CLI and
// KSOPS expect.
const sopsSuffix = ".sops.yaml"

// sealer turns one Secret into what goes into git, and says whether a Secret was already turned with the
// same key (Digest).
type sealer interface {
	Digest(seal.Secret) string
	Seal(seal.Secret) ([]byte, error)
}

type sealedSecretsSealer struct{ *seal.SealedSecrets }

func (s sealedSecretsSealer) Seal(secret seal.Secret) ([]byte, error) {
	sealed, err := s.SealedSecrets.Seal(secret)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(sealed)
}

type sopsSealer struct {
	*seal.SOPS
	now time.Time
}

func (s sopsSealer) Seal(secret seal.Secret) ([]byte, error) { return s.Encrypt(secret, s.now) }

// seal replaces the generators of Kestra's stores and password with those Secrets sealed (Sealed Secrets)
// or encrypted (SOPS): it builds the overlay as it is (the generators read certs/, in memory), turns the
// Secrets they make, under their names without the hash suffix, and renders the kustomization and the
// workload patches again around the sealed files.
func (o *Overlay) seal(opts Options, v values.Values, renderer *render.Renderer, data *templateData, patches []workloadPatch) error {
	var (
		s    sealer
		note string
	)
	if len(v.Sealing.SOPSAge) > 0 {
		sops, err := seal.ParseAgeRecipients(v.Sealing.SOPSAge, "--sops-age")
		if err != nil {
			return err
		}
		s = sopsSealer{SOPS: sops, now: opts.Now}
		note = fmt.Sprintf("the *%s files hold Kestra's stores and password encrypted by SOPS for %s: commit the folder (certs/ stays out, by its .gitignore); Flux decrypts them with spec.decryption.provider: sops and the age identity in spec.decryption.secretRef", sopsSuffix, strings.Join(sops.Recipients(), ", "))
	} else {
		sealed, err := seal.LoadSealedSecretsCert(v.Sealing.SealedSecretsCert, "--seal-with")
		if err != nil {
			return err
		}
		s = sealedSecretsSealer{sealed}
		note = fmt.Sprintf("%s holds Kestra's stores and password sealed for the Sealed Secrets controller of %s: commit the folder (certs/ stays out, by its .gitignore); the controller must run in the cluster before Argo CD or Flux applies it", SealedFile, v.Sealing.SealedSecretsCert)
		data.SealedHeader = fmt.Sprintf(sealedHeader, sealed.Fingerprint())
	}
	secrets, err := o.secretsToSeal(opts.Dir, v)
	if err != nil {
		return err
	}
	previous, previousDigests := earlierSealing(opts.Dir)
	digests := map[string]string{}
	var sealedDocs []string
	for _, secret := range secrets {
		digest := s.Digest(secret)
		digests[secret.Name] = digest
		doc, ok := previous[secret.Name]
		if !ok || previousDigests[secret.Name] != digest {
			// Sealing is randomized: only a changed Secret (or key) is sealed again, since a new ciphertext
			// of the same Secret would change every line in git for nothing.
			sealed, err := s.Seal(secret)
			if err != nil {
				return fmt.Errorf("sealing Secret %s: %v", secret.Name, err)
			}
			doc = string(sealed)
		}
		if _, sops := s.(sopsSealer); sops {
			data.SealedFiles = append(data.SealedFiles, secret.Name+sopsSuffix)
			o.Files = append(o.Files, fileset.File{Name: secret.Name + sopsSuffix, Data: []byte(doc), Mode: fileset.Public})
		} else {
			sealedDocs = append(sealedDocs, doc)
		}
	}
	if len(sealedDocs) > 0 {
		data.SealedFiles = append(data.SealedFiles, SealedFile)
		o.Files = append(o.Files, fileset.File{Name: SealedFile, Data: []byte(data.SealedHeader + strings.Join(sealedDocs, "---\n")), Mode: fileset.Public})
	}
	digestsJSON, err := json.MarshalIndent(digests, "", "  ")
	if err != nil {
		return err
	}
	o.CertsFiles = append(o.CertsFiles, fileset.File{Name: sealedDigestsFile, Data: append(digestsJSON, '\n'), Mode: fileset.Public})

	sum := sha256.New()
	for _, name := range data.SealedFiles {
		for _, f := range o.Files {
			if f.Name == name {
				sum.Write(f.Data)
			}
		}
	}
	data.SealedDigest = hex.EncodeToString(sum.Sum(nil)[:8])
	kustomization, err := renderer.Render("kustomization.yaml.tpl", data)
	if err != nil {
		return err
	}
	o.replaceFile(fileset.File{Name: "kustomization.yaml", Data: kustomization, Mode: fileset.Public})
	for _, p := range patches {
		data.Workload = p
		rendered, err := renderer.Render("workload-patch.yaml.tpl", data)
		if err != nil {
			return err
		}
		o.replaceFile(fileset.File{Name: p.File, Data: rendered, Mode: fileset.Public})
	}
	o.Notes = append(o.Notes, note)
	return nil
}

// secretsToSeal are Kestra's stores and password as the overlay's generators make them (built in memory
// from certs/), under the names the workloads refer to.
func (o *Overlay) secretsToSeal(dir string, v values.Values) ([]seal.Secret, error) {
	built, err := o.BuildAt(dir)
	if err != nil {
		return nil, err
	}
	names := map[string]string{model.RoleStores: v.App.SSLSecretName, model.RolePassword: v.App.PasswordSecretName}
	var secrets []seal.Secret
	for _, object := range built.Resources() {
		role := object.GetLabels()[model.RoleLabel]
		if object.GetKind() != "Secret" || names[role] == "" || object.GetLabels()[model.ManagedByLabel] != model.ManagedByValue {
			continue
		}
		m, err := object.Map()
		if err != nil {
			return nil, err
		}
		secret := seal.Secret{Name: names[role], Namespace: object.GetNamespace(), Labels: object.GetLabels(), Annotations: object.GetAnnotations(), Data: map[string][]byte{}}
		secret.Type, _ = m["type"].(string)
		encoded, _ := m["data"].(map[string]any)
		for key, value := range encoded {
			text, _ := value.(string)
			if secret.Data[key], err = base64.StdEncoding.DecodeString(text); err != nil {
				return nil, fmt.Errorf("Secret %s, %s: %v", secret.Name, key, err)
			}
		}
		secrets = append(secrets, secret)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("the overlay makes no Secret of Kestra's stores to seal")
	}
	slices.SortFunc(secrets, func(a, b seal.Secret) int { return strings.Compare(a.Name, b.Name) })
	return secrets, nil
}

// earlierSealing reads the SealedSecrets an earlier run wrote into dir, by name, and the digests it
// recorded in certs/; nothing when there are none.
func earlierSealing(dir string) (map[string]string, map[string]string) {
	docs, digests := map[string]string{}, map[string]string{}
	recorded, err := os.ReadFile(filepath.Join(dir, CertsDir, sealedDigestsFile))
	if err != nil || json.Unmarshal(recorded, &digests) != nil {
		return docs, map[string]string{}
	}
	sopsFiles, _ := filepath.Glob(filepath.Join(dir, "*"+sopsSuffix))
	for _, path := range sopsFiles {
		if content, err := os.ReadFile(path); err == nil {
			docs[strings.TrimSuffix(filepath.Base(path), sopsSuffix)] = string(content)
		}
	}
	content, err := os.ReadFile(filepath.Join(dir, SealedFile))
	if err != nil {
		return docs, digests
	}
	for _, doc := range strings.Split(string(content), "---\n") {
		var object struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		body := stripComments(doc)
		if yaml.Unmarshal([]byte(body), &object) == nil && object.Kind == "SealedSecret" {
			docs[object.Metadata.Name] = body
		}
	}
	return docs, digests
}

// stripComments drops the header's comment lines, which the file has once, above the first document.
func stripComments(doc string) string {
	var kept bytes.Buffer
	for _, line := range strings.SplitAfter(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			kept.WriteString(line)
		}
	}
	return kept.String()
}

// replaceFile swaps the file of that name for file.
func (o *Overlay) replaceFile(file fileset.File) {
	for i := range o.Files {
		if o.Files[i].Name == file.Name {
			o.Files[i] = file
			return
		}
	}
	o.Files = append(o.Files, file)
}
