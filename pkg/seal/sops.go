package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	yaml "go.yaml.in/yaml/v3"
)

// SOPSVersion is the release of SOPS whose file format Encrypt writes, and that the tests decrypt with.
const SOPSVersion = "3.13.3"

// sopsEncryptedRegex leaves everything but the Secret's data readable, as Flux's guide has it: reviewers
// see which Secret changed, and kustomize can still set its namespace.
const sopsEncryptedRegex = "^(data|stringData)$"

// macOnlyEncryptedInitialization starts SOPS's MAC when it covers the encrypted values only (SOPS's own
// constant, so that such a MAC never equals one over every value).
var macOnlyEncryptedInitialization = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// SOPS encrypts Secrets in SOPS's YAML format for age recipients: the form Flux's kustomize-controller
// decrypts (spec.decryption.provider: sops) and KSOPS decrypts for Argo CD. Natively, since SOPS's own
// library would link every cloud's KMS SDK into the plugin for the one key type used here.
type SOPS struct {
	recipients []age.Recipient
	names      []string
}

// ParseAgeRecipients reads age public keys (age1...); flag names the flag that gave them, for errors.
func ParseAgeRecipients(keys []string, flag string) (*SOPS, error) {
	s := &SOPS{}
	for _, key := range keys {
		key = strings.TrimSpace(key)
		if strings.HasPrefix(strings.ToUpper(key), "AGE-SECRET-KEY-") {
			// Never echoed: it is the private key that decrypts everything encrypted for it.
			return nil, fmt.Errorf("%s was given an age secret key (AGE-SECRET-KEY-...), which must stay with Flux: pass its public key (age1...), printed by `age-keygen -y KEYFILE`, and keep the secret key out of shell history", flag)
		}
		recipient, err := age.ParseX25519Recipient(key)
		if err != nil {
			return nil, fmt.Errorf("%s %q: not an age public key (age1...): %v; print yours with `age-keygen -y KEYFILE`", flag, key, err)
		}
		s.recipients, s.names = append(s.recipients, recipient), append(s.names, key)
	}
	if len(s.recipients) == 0 {
		return nil, fmt.Errorf("%s: no age recipient given", flag)
	}
	sort.Strings(s.names)
	return s, nil
}

// Recipients are the age public keys, sorted.
func (s *SOPS) Recipients() []string { return s.names }

// Digest identifies what encrypting secret for these recipients gives (see SealedSecrets.Digest).
func (s *SOPS) Digest(secret Secret) string {
	canonical, _ := json.Marshal(secret)
	sum := sha256.Sum256(append([]byte("sops "+SOPSVersion+" "+strings.Join(s.names, ",")+"\n"), canonical...))
	return hex.EncodeToString(sum[:])
}

// Encrypt is secret as a Secret manifest whose data values SOPS encrypted with a fresh data key, itself
// encrypted for every recipient, with SOPS's message authentication code over every value of the document.
func (s *SOPS) Encrypt(secret Secret, now time.Time) ([]byte, error) {
	dataKey := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, dataKey); err != nil {
		return nil, err
	}
	doc := &document{}
	doc.add([]string{"apiVersion"}, "v1")
	doc.add([]string{"kind"}, "Secret")
	doc.add([]string{"metadata", "name"}, secret.Name)
	if secret.Namespace != "" {
		doc.add([]string{"metadata", "namespace"}, secret.Namespace)
	}
	for _, key := range sortedKeys(secret.Labels) {
		doc.add([]string{"metadata", "labels", key}, secret.Labels[key])
	}
	for _, key := range sortedKeys(secret.Annotations) {
		doc.add([]string{"metadata", "annotations", key}, secret.Annotations[key])
	}
	if secret.Type != "" {
		doc.add([]string{"type"}, secret.Type)
	}
	data := make(map[string]string, len(secret.Data))
	for key, value := range secret.Data {
		data[key] = base64.StdEncoding.EncodeToString(value)
	}
	for _, key := range sortedKeys(data) {
		doc.add([]string{"data", key}, data[key])
	}

	// SOPS's MAC: SHA-512, in upper-case hex, encrypted with the data key and bound to lastmodified, over
	// the encrypted values only (mac_only_encrypted): kustomize may then set the namespace, a prefix or
	// labels on the Secret without breaking it, as it may on any other object of the overlay.
	mac := sha512.New()
	mac.Write(macOnlyEncryptedInitialization)
	for i, leaf := range doc.leaves {
		if leaf.path[0] == "data" || leaf.path[0] == "stringData" {
			mac.Write([]byte(leaf.value))
			encrypted, err := sopsEncrypt(dataKey, leaf.value, strings.Join(leaf.path, ":")+":")
			if err != nil {
				return nil, err
			}
			doc.leaves[i].value = encrypted
		}
	}
	lastModified := now.UTC().Format(time.RFC3339)
	encryptedMAC, err := sopsEncrypt(dataKey, fmt.Sprintf("%X", mac.Sum(nil)), lastModified)
	if err != nil {
		return nil, err
	}
	var recipients []any
	for i, recipient := range s.recipients {
		var armored bytes.Buffer
		aw := armor.NewWriter(&armored)
		w, err := age.Encrypt(aw, recipient)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(dataKey); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		recipients = append(recipients, map[string]any{"recipient": s.namesInOrder()[i], "enc": armored.String()})
	}
	root := doc.node()
	metadata := &yaml.Node{}
	if err := metadata.Encode(map[string]any{
		"age": recipients, "lastmodified": lastModified, "mac": encryptedMAC,
		"encrypted_regex": sopsEncryptedRegex, "mac_only_encrypted": true, "version": SOPSVersion,
	}); err != nil {
		return nil, err
	}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "sops"}, metadata)
	var out bytes.Buffer
	encoder := yaml.NewEncoder(&out)
	encoder.SetIndent(4)
	if err := encoder.Encode(root); err != nil {
		return nil, err
	}
	return out.Bytes(), encoder.Close()
}

// namesInOrder are the recipients' keys in the order of s.recipients.
func (s *SOPS) namesInOrder() []string {
	names := make([]string, len(s.recipients))
	for i, r := range s.recipients {
		names[i] = r.(*age.X25519Recipient).String()
	}
	return names
}

// sopsEncrypt is SOPS's value encryption: AES-256-GCM with a 32-byte nonce, the path as additional data.
func sopsEncrypt(key []byte, plaintext, additionalData string) (string, error) {
	if plaintext == "" {
		// SOPS leaves empty values as they are.
		return "", nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	const nonceSize = 32
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return "", err
	}
	iv := make([]byte, nonceSize)
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return "", err
	}
	sealed := gcm.Seal(nil, iv, []byte(plaintext), []byte(additionalData))
	body, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:str]",
		base64.StdEncoding.EncodeToString(body), base64.StdEncoding.EncodeToString(iv), base64.StdEncoding.EncodeToString(tag)), nil
}

// document is a YAML mapping of string leaves kept in the order they were added: the order SOPS walks
// (and hashes) on decryption is the order in the file.
type document struct{ leaves []leaf }

type leaf struct {
	path  []string
	value string
}

func (d *document) add(path []string, value string) { d.leaves = append(d.leaves, leaf{path, value}) }

func (d *document) node() *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, l := range d.leaves {
		mapping := root
		for _, key := range l.path[:len(l.path)-1] {
			mapping = child(mapping, key)
		}
		mapping.Content = append(mapping.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: l.path[len(l.path)-1]},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: l.value})
	}
	return root
}

// child is the mapping under key in mapping, added at its end when missing.
func child(mapping *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	next := &yaml.Node{Kind: yaml.MappingNode}
	mapping.Content = append(mapping.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, next)
	return next
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
