// Package seal turns the Secrets of an overlay for git into objects that only the cluster can open: for
// the Sealed Secrets controller (Bitnami), with its public certificate, offline.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
)

// ClusterWideAnnotation is Sealed Secrets' scope that binds the ciphertext to no namespace or name: what
// kustomize's namespace transformer and name prefixes may change without breaking it.
const ClusterWideAnnotation = "sealedsecrets.bitnami.com/cluster-wide"

// Secret is a Secret to seal, as the overlay's generators would have made it.
type Secret struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Type        string            `json:"type,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Data        map[string][]byte `json:"data"`
}

// SealedSecrets seals for one controller: its key is the certificate's.
type SealedSecrets struct {
	key         *rsa.PublicKey
	fingerprint string
}

// LoadSealedSecretsCert reads the controller's certificate (kubeseal --fetch-cert); flag names the flag
// that gave path, for errors.
func LoadSealedSecretsCert(path, flag string) (*SealedSecrets, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it; fetch the controller's with `kubeseal --fetch-cert > %s` (or read tls.crt of its active key Secret)", flag, path, path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s %s: the certificate's key is not RSA, so it is not a Sealed Secrets controller's; fetch it with kubeseal --fetch-cert", flag, path)
	}
	sum := sha256.Sum256(cert.Raw)
	return &SealedSecrets{key: key, fingerprint: hex.EncodeToString(sum[:])}, nil
}

// Fingerprint is the SHA-256 of the controller's certificate.
func (s *SealedSecrets) Fingerprint() string { return s.fingerprint }

// Digest identifies what sealing secret with this certificate gives, without holding any of it: a re-run
// with the same digest keeps the SealedSecret already in the overlay (sealing is randomized, and a new
// ciphertext for the same Secret would be churn in git).
func (s *SealedSecrets) Digest(secret Secret) string {
	canonical, _ := json.Marshal(secret) // maps marshal with sorted keys
	sum := sha256.Sum256(append([]byte(s.fingerprint+"\n"), canonical...))
	return hex.EncodeToString(sum[:])
}

// Seal is secret as a SealedSecret of cluster-wide scope (each value encrypted on its own, as kubeseal
// does), for the controller to write into the cluster under the SealedSecret's own name and namespace.
func (s *SealedSecrets) Seal(secret Secret) (map[string]any, error) {
	encrypted := map[string]any{}
	keys := make([]string, 0, len(secret.Data))
	for key := range secret.Data {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		// Cluster-wide: the label that binds a ciphertext to a namespace and name is empty.
		ciphertext, err := hybridEncrypt(s.key, secret.Data[key])
		if err != nil {
			return nil, fmt.Errorf("sealing %s of Secret %s: %v", key, secret.Name, err)
		}
		encrypted[key] = base64.StdEncoding.EncodeToString(ciphertext)
	}
	scope := map[string]any{ClusterWideAnnotation: "true"}
	templateMeta := map[string]any{"annotations": scope}
	if len(secret.Annotations) > 0 {
		annotations := map[string]any{ClusterWideAnnotation: "true"}
		for k, v := range secret.Annotations {
			annotations[k] = v
		}
		templateMeta["annotations"] = annotations
	}
	if len(secret.Labels) > 0 {
		labels := map[string]any{}
		for k, v := range secret.Labels {
			labels[k] = v
		}
		templateMeta["labels"] = labels
	}
	metadata := map[string]any{"name": secret.Name, "annotations": scope}
	if secret.Namespace != "" {
		metadata["namespace"] = secret.Namespace
	}
	if marker, ok := secret.Labels["app.kubernetes.io/managed-by"]; ok {
		metadata["labels"] = map[string]any{"app.kubernetes.io/managed-by": marker}
	}
	template := map[string]any{"metadata": templateMeta}
	if secret.Type != "" {
		template["type"] = secret.Type
	}
	return map[string]any{
		"apiVersion": "bitnami.com/v1alpha1",
		"kind":       "SealedSecret",
		"metadata":   metadata,
		"spec":       map[string]any{"encryptedData": encrypted, "template": template},
	}, nil
}

// hybridEncrypt is Sealed Secrets' value format: a fresh AES-256 key encrypts the value with GCM (a zero
// nonce, the key being used once), RSA-OAEP (SHA-256, with the scope's label: empty, cluster-wide) encrypts
// the key to the controller, and the output is the RSA ciphertext's length (2 bytes, big-endian), the RSA
// ciphertext, then the AES one. Ours rather than the module's pkg/crypto, which also links golang.org/x/crypto/ssh
// (and its init) into the plugin for a fingerprint we never take; the real controller opens it in the tests.
func hybridEncrypt(key *rsa.PublicKey, plaintext []byte) ([]byte, error) {
	sessionKey := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, sessionKey); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, key, sessionKey, nil)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(wrapped)))
	out = append(out, wrapped...)
	return gcm.Seal(out, make([]byte, gcm.NonceSize()), plaintext, nil), nil
}
