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

// seal replaces the generators of Kestra's stores and password with SealedSecrets: it builds the overlay as
// it is (the generators read certs/, in memory), seals the Secrets they make under their names without the
// hash suffix, and renders the kustomization and the workload patches again around the sealed file.
func (o *Overlay) seal(opts Options, v values.Values, renderer *render.Renderer, data *templateData, patches []workloadPatch) error {
	sealer, err := seal.LoadSealedSecretsCert(v.Sealing.SealedSecretsCert, "--seal-with")
	if err != nil {
		return err
	}
	built, err := o.BuildAt(opts.Dir)
	if err != nil {
		return err
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
			return err
		}
		secret := seal.Secret{Name: names[role], Namespace: object.GetNamespace(), Labels: object.GetLabels(), Annotations: object.GetAnnotations(), Data: map[string][]byte{}}
		secret.Type, _ = m["type"].(string)
		encoded, _ := m["data"].(map[string]any)
		for key, value := range encoded {
			text, _ := value.(string)
			if secret.Data[key], err = base64.StdEncoding.DecodeString(text); err != nil {
				return fmt.Errorf("Secret %s, %s: %v", secret.Name, key, err)
			}
		}
		secrets = append(secrets, secret)
	}
	if len(secrets) == 0 {
		return fmt.Errorf("--seal-with: the overlay makes no Secret of Kestra's stores to seal")
	}
	slices.SortFunc(secrets, func(a, b seal.Secret) int { return strings.Compare(a.Name, b.Name) })

	previous, previousDigests := earlierSealing(opts.Dir)
	digests := map[string]string{}
	var docs []string
	for _, secret := range secrets {
		digest := sealer.Digest(secret)
		digests[secret.Name] = digest
		if doc, ok := previous[secret.Name]; ok && previousDigests[secret.Name] == digest {
			// The same Secret for the same controller: keep its ciphertext (sealing again would change
			// every line for nothing).
			docs = append(docs, doc)
			continue
		}
		sealed, err := sealer.Seal(secret)
		if err != nil {
			return err
		}
		doc, err := yaml.Marshal(sealed)
		if err != nil {
			return err
		}
		docs = append(docs, string(doc))
	}
	content := fmt.Sprintf(sealedHeader, sealer.Fingerprint()) + strings.Join(docs, "---\n")
	sum := sha256.Sum256([]byte(content))
	digestsJSON, err := json.MarshalIndent(digests, "", "  ")
	if err != nil {
		return err
	}
	o.CertsFiles = append(o.CertsFiles, fileset.File{Name: sealedDigestsFile, Data: append(digestsJSON, '\n'), Mode: fileset.Public})

	data.Sealed, data.SealedDigest = SealedFile, hex.EncodeToString(sum[:8])
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
	o.Files = append(o.Files, fileset.File{Name: SealedFile, Data: []byte(content), Mode: fileset.Public})
	o.Notes = append(o.Notes, fmt.Sprintf("%s holds Kestra's stores and password sealed for the Sealed Secrets controller of %s: commit the folder (certs/ stays out, by its .gitignore); the controller must run in the cluster before Argo CD or Flux applies it", SealedFile, v.Sealing.SealedSecretsCert))
	return nil
}

// earlierSealing reads the SealedSecrets an earlier run wrote into dir, by name, and the digests it
// recorded in certs/; nothing when there are none.
func earlierSealing(dir string) (map[string]string, map[string]string) {
	docs, digests := map[string]string{}, map[string]string{}
	content, err := os.ReadFile(filepath.Join(dir, SealedFile))
	if err != nil {
		return docs, digests
	}
	recorded, err := os.ReadFile(filepath.Join(dir, CertsDir, sealedDigestsFile))
	if err != nil || json.Unmarshal(recorded, &digests) != nil {
		return docs, map[string]string{}
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
