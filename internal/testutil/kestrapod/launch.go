// Package kestrapod is the test ground's Kestra container: it follows a workload of a built overlay or a
// rendered chart (or a Compose service) the way the kubelet or docker and Kestra's launcher do, lays the
// mounted files out with the owners and modes they really get, and runs Kestra's own server (Micronaut on
// Temurin 25, internal/testutil/kestraserver) on them as the user the container really runs as; Micronaut
// reads the configuration. Property and String read it too, for the tests' own checks only. It is test
// ground, never product code.
package kestrapod

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// launcherConfigFile is where Kestra's launcher (kestra-io/kestra gradle/jar/selfrun.sh) writes a set
// KESTRA_CONFIGURATION before it points MICRONAUT_CONFIG_FILES at that one file.
const launcherConfigFile = "/app/confs/application.yml"

// Process is a Kestra container as it starts: the user it runs as, the environment the kubelet gives it,
// the files its mounts show, what Kestra's launcher does with them, and the configuration Micronaut then
// reads.
type Process struct {
	// User is who the container's process is.
	User User
	// Env is the container's environment, valueFrom and envFrom resolved from the objects.
	Env map[string]string
	// Files are the files the container's mounts show, by absolute path, owned and moded as laid out.
	Files map[string]File
	// ConfigFiles are the files Micronaut reads, in order (a later one wins), after the launcher.
	ConfigFiles []string
	// JVMOptions is what the JVM gets: JAVA_OPTS on the command line, then _JAVA_OPTIONS.
	JVMOptions string
	config     map[string]any
	root       string // where LayOut put Files
	// volumeDirs are the mount paths of whole ConfigMap and Secret volumes (no subPath): the kubelet lays
	// them out with its atomic writer and updates them in place when the object changes.
	volumeDirs map[string]bool
	// binds are folders bind-mounted from the host (Compose), by their path in the container: the server
	// sees them live, as a container does, so that what is written there later shows.
	binds map[string]string
}

// File is a file in the container, with the owner and mode its process sees.
type File struct {
	Data     []byte
	UID, GID int
	Mode     fs.FileMode
}

// Start follows a workload's container from the objects of a built overlay or a rendered chart: the
// kubelet (environment, mounts), Kestra's launcher, then Micronaut's configuration files. A file that
// Micronaut is told to read but no mount provides is an error, as it is for Kestra.
func Start(objects []map[string]any, kind, name, container string) (*Process, error) {
	workload := find(objects, kind, "", name)
	if workload == nil {
		return nil, fmt.Errorf("no %s %s", kind, name)
	}
	pod, _ := dig(workload, "spec", "template", "spec").(map[string]any)
	var spec map[string]any
	for _, c := range asList(pod["containers"]) {
		if c, _ := c.(map[string]any); c["name"] == container {
			spec = c
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("%s %s has no container %s", kind, name, container)
	}
	namespace, _ := dig(workload, "metadata", "namespace").(string)
	user, err := podUser(pod, spec)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", kind, name, err)
	}
	p := &Process{User: user, Env: map[string]string{}, Files: map[string]File{}, volumeDirs: map[string]bool{}}
	if err := p.readEnv(objects, namespace, spec); err != nil {
		return nil, err
	}
	if err := p.readMounts(objects, namespace, pod, spec); err != nil {
		return nil, err
	}
	return p, p.launch(container)
}

// launch is what Kestra's launcher and Micronaut do once the container runs: a set KESTRA_CONFIGURATION
// becomes the one configuration file (written by the launcher, so owned by the container's user), then
// Micronaut reads the files MICRONAUT_CONFIG_FILES lists.
func (p *Process) launch(container string) error {
	if conf := p.Env["KESTRA_CONFIGURATION"]; conf != "" {
		p.Files[launcherConfigFile] = File{Data: []byte(conf + "\n"), UID: p.User.UID, GID: p.User.GID, Mode: 0o644}
		p.Env["MICRONAUT_CONFIG_FILES"] = launcherConfigFile
	}
	p.JVMOptions = strings.TrimSpace(p.Env["JAVA_OPTS"] + " " + p.Env["_JAVA_OPTIONS"])
	p.config = map[string]any{}
	for _, file := range strings.Split(p.Env["MICRONAUT_CONFIG_FILES"], ",") {
		if file = strings.TrimSpace(file); file == "" {
			continue
		}
		f, ok := p.Files[file]
		if !ok {
			return fmt.Errorf("MICRONAUT_CONFIG_FILES lists %s, which no mount of container %s provides", file, container)
		}
		if !p.User.CanRead(f) {
			return fmt.Errorf("MICRONAUT_CONFIG_FILES lists %s, which %s cannot read (%s)", file, p.User, f)
		}
		layer := map[string]any{}
		if err := yaml.Unmarshal(f.Data, &layer); err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		p.config = values.MergeMaps(p.config, layer)
		p.ConfigFiles = append(p.ConfigFiles, file)
	}
	return nil
}

// Property is a configuration value as Micronaut resolves it: an environment variable over the files
// (MICRONAUT_SERVER_SSL_PORT for micronaut.server.ssl.port), then ${VAR} and ${VAR:default} placeholders.
// Keys are dotted; camelCase and kebab-case name the same property, as in Micronaut.
func (p *Process) Property(key string) (any, bool) {
	if value, ok := p.Env[envName(key)]; ok {
		return p.resolve(value), true
	}
	node := any(p.config)
	for _, part := range strings.Split(key, ".") {
		fields, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		found := false
		for k, v := range fields {
			if normalize(k) == normalize(part) {
				node, found = v, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	if text, ok := node.(string); ok {
		return p.resolve(text), true
	}
	return node, true
}

// String is Property as text, empty when unset.
func (p *Process) String(key string) string {
	value, ok := p.Property(key)
	if !ok || value == nil {
		return ""
	}
	return fmt.Sprint(value)
}

var placeholder = regexp.MustCompile(`\$\{([^}:]+)(?::([^}]*))?\}`)

func (p *Process) resolve(text string) string {
	return placeholder.ReplaceAllStringFunc(text, func(match string) string {
		parts := placeholder.FindStringSubmatch(match)
		if value, ok := p.Env[parts[1]]; ok {
			return value
		}
		if value, ok := p.Env[envName(parts[1])]; ok {
			return value
		}
		return parts[2]
	})
}

// envName is the environment variable Micronaut maps to a property: upper case, dots and dashes as _.
func envName(key string) string {
	var out strings.Builder
	for i, r := range key {
		switch {
		case r == '.' || r == '-':
			out.WriteRune('_')
		case unicode.IsUpper(r) && i > 0:
			out.WriteRune('_')
			out.WriteRune(r)
		default:
			out.WriteRune(unicode.ToUpper(r))
		}
	}
	return out.String()
}

func normalize(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "-", ""))
}

func (p *Process) readEnv(objects []map[string]any, namespace string, spec map[string]any) error {
	for _, from := range asList(spec["envFrom"]) {
		from, _ := from.(map[string]any)
		for _, kind := range []string{"configMapRef", "secretRef"} {
			ref, ok := from[kind].(map[string]any)
			if !ok {
				continue
			}
			data, err := objectData(objects, namespace, kind, ref["name"].(string))
			if err != nil {
				return err
			}
			for key, value := range data {
				prefix, _ := from["prefix"].(string)
				p.Env[prefix+key] = string(value)
			}
		}
	}
	for _, e := range asList(spec["env"]) {
		e, _ := e.(map[string]any)
		name, _ := e["name"].(string)
		if value, ok := e["value"].(string); ok {
			p.Env[name] = value
			continue
		}
		for _, kind := range []string{"configMapKeyRef", "secretKeyRef"} {
			ref, ok := dig(e, "valueFrom", kind).(map[string]any)
			if !ok {
				continue
			}
			data, err := objectData(objects, namespace, kind, ref["name"].(string))
			if err != nil {
				return fmt.Errorf("env %s: %v", name, err)
			}
			value, ok := data[ref["key"].(string)]
			if !ok {
				return fmt.Errorf("env %s: no key %s in %s", name, ref["key"], ref["name"])
			}
			p.Env[name] = string(value)
		}
		if _, ok := p.Env[name]; !ok {
			p.Env[name] = ""
		}
	}
	return nil
}

// readMounts lays the ConfigMap and Secret volumes out as the kubelet does: owned by root, each file with
// its item's mode, else the volume's defaultMode, else 0644; with the pod's fsGroup, group fsGroup and
// group read added (the volume is read-only).
func (p *Process) readMounts(objects []map[string]any, namespace string, pod, spec map[string]any) error {
	fsGroup, hasFSGroup := intField(pod, "securityContext", "fsGroup")
	volumes := map[string]map[string]File{}
	laidOut := func(content []byte, mode fs.FileMode) File {
		f := File{Data: content, Mode: mode}
		if hasFSGroup {
			f.GID, f.Mode = fsGroup, mode|0o440
		}
		return f
	}
	// layOut adds the files of one ConfigMap or Secret source to files: its items, else every key.
	layOut := func(volume any, kind, ref string, source map[string]any, mode fs.FileMode, files map[string]File) error {
		data, err := objectData(objects, namespace, kind, ref)
		if err != nil {
			return fmt.Errorf("volume %s: %v", volume, err)
		}
		items := asList(source["items"])
		if len(items) == 0 {
			for key, content := range data {
				files[key] = laidOut(content, mode)
			}
		}
		for _, item := range items {
			item, _ := item.(map[string]any)
			content, ok := data[fmt.Sprint(item["key"])]
			if !ok {
				return fmt.Errorf("volume %s: no key %s in %s", volume, item["key"], ref)
			}
			itemMode := mode
			if m, ok := intField(item, "mode"); ok {
				itemMode = fs.FileMode(m)
			}
			files[fmt.Sprint(item["path"])] = laidOut(content, itemMode)
		}
		return nil
	}
	for _, v := range asList(pod["volumes"]) {
		v, _ := v.(map[string]any)
		var sources []map[string]any
		var mode fs.FileMode = 0o644
		if projected, ok := v["projected"].(map[string]any); ok {
			// One folder from several Secrets and ConfigMaps, under the projected volume's defaultMode.
			if m, ok := intField(projected, "defaultMode"); ok {
				mode = fs.FileMode(m)
			}
			for _, source := range asList(projected["sources"]) {
				if source, ok := source.(map[string]any); ok {
					sources = append(sources, source)
				}
			}
		} else {
			sources = []map[string]any{v}
		}
		files := map[string]File{}
		laid := false
		for _, source := range sources {
			var kind, ref string
			var fields map[string]any
			if cm, ok := source["configMap"].(map[string]any); ok {
				kind, ref, fields = "configMapRef", fmt.Sprint(cm["name"]), cm
			} else if secret, ok := source["secret"].(map[string]any); ok {
				name := secret["secretName"] // a projected source names it "name"
				if name == nil {
					name = secret["name"]
				}
				kind, ref, fields = "secretRef", fmt.Sprint(name), secret
			} else {
				continue
			}
			sourceMode := mode
			if m, ok := intField(fields, "defaultMode"); ok {
				sourceMode = fs.FileMode(m)
			}
			if err := layOut(v["name"], kind, ref, fields, sourceMode, files); err != nil {
				return err
			}
			laid = true
		}
		if laid {
			volumes[fmt.Sprint(v["name"])] = files
		}
	}
	for _, m := range asList(spec["volumeMounts"]) {
		m, _ := m.(map[string]any)
		files, ok := volumes[fmt.Sprint(m["name"])]
		if !ok {
			continue
		}
		mountPath := fmt.Sprint(m["mountPath"])
		if subPath, _ := m["subPath"].(string); subPath != "" {
			if f, ok := files[subPath]; ok {
				p.Files[mountPath] = f
			}
			continue
		}
		for name, f := range files {
			p.Files[path.Join(mountPath, name)] = f
		}
		p.volumeDirs[path.Clean(mountPath)] = true
	}
	return nil
}

// objectData is a ConfigMap's data or a Secret's decoded data.
func objectData(objects []map[string]any, namespace, refKind, name string) (map[string][]byte, error) {
	kind := "ConfigMap"
	if strings.HasPrefix(refKind, "secret") {
		kind = "Secret"
	}
	object := find(objects, kind, namespace, name)
	if object == nil {
		return nil, fmt.Errorf("no %s %s", kind, name)
	}
	out := map[string][]byte{}
	data, _ := object["data"].(map[string]any)
	for key, value := range data {
		text := fmt.Sprint(value)
		if kind == "Secret" {
			decoded, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				return nil, fmt.Errorf("Secret %s key %s: %v", name, key, err)
			}
			out[key] = decoded
			continue
		}
		out[key] = []byte(text)
	}
	if plain, ok := object["stringData"].(map[string]any); ok {
		for key, value := range plain {
			out[key] = []byte(fmt.Sprint(value))
		}
	}
	// A ConfigMap's binary files (a Java truststore) travel base64-encoded in binaryData.
	if binary, ok := object["binaryData"].(map[string]any); ok {
		for key, value := range binary {
			decoded, err := base64.StdEncoding.DecodeString(fmt.Sprint(value))
			if err != nil {
				return nil, fmt.Errorf("ConfigMap %s binaryData %s: %v", name, key, err)
			}
			out[key] = decoded
		}
	}
	return out, nil
}

// find matches by kind and name, and by namespace when both sides name one.
func find(objects []map[string]any, kind, namespace, name string) map[string]any {
	for _, object := range objects {
		ns, _ := dig(object, "metadata", "namespace").(string)
		if object["kind"] == kind && dig(object, "metadata", "name") == name && (namespace == "" || ns == "" || ns == namespace) {
			return object
		}
	}
	return nil
}

func dig(node any, keys ...string) any {
	for _, key := range keys {
		fields, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = fields[key]
	}
	return node
}

func asList(node any) []any {
	list, _ := node.([]any)
	return list
}

// intField reads a whole number the decoders may give as int64 or float64 (JSON) or int.
func intField(node any, keys ...string) (int, bool) {
	switch n := dig(node, keys...).(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}
