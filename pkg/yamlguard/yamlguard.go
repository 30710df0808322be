// Package yamlguard refuses YAML that would take unbounded memory or time to expand, before a parser that
// expands aliases without limits (kustomize's, for --base) sees it. A base may come from anyone's chart.
package yamlguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// MaxFileSize bounds one YAML input; Kestra's chart renders to about 20 KB.
const MaxFileSize = 16 << 20

// MaxFiles bounds the YAML files of one folder.
const MaxFiles = 10000

// Check parses every document of data with a parser that refuses excessive aliasing, and bounds the size.
// source names the input (flag and file) in errors.
func Check(source string, data []byte) error {
	if len(data) > MaxFileSize {
		return fmt.Errorf("%s is %d bytes, over the %d MiB kestra-tls reads: pass the manifests of Kestra only", source, len(data), MaxFileSize>>20)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", source, err)
		}
		if _, err := yaml.YAMLToJSON(doc); err != nil {
			return fmt.Errorf("%s, document %d, is not YAML kestra-tls can read: %v", source, n, err)
		}
	}
}

// CheckTree checks every YAML file below dir (symbolic links not followed).
func CheckTree(source string, fsys fs.FS) error {
	count := 0
	return fs.WalkDir(fsys, ".", func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %v", source, err)
		}
		if entry.IsDir() || !entry.Type().IsRegular() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json", "":
		default:
			return nil
		}
		if count++; count > MaxFiles {
			return fmt.Errorf("%s holds over %d YAML files: pass the folder with Kestra's manifests only", source, MaxFiles)
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}
		if info.Size() > MaxFileSize {
			return fmt.Errorf("%s/%s is %d bytes, over the %d MiB kestra-tls reads", source, path, info.Size(), MaxFileSize>>20)
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		return Check(source+"/"+filepath.ToSlash(path), data)
	})
}
