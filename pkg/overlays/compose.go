package overlays

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/compose"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// Files of target compose, in the output folder.
const (
	ComposeOverrideFile = "compose.kestra-tls.yaml"
	// ComposeEnvFile holds the store password for the container, in certs/ (0600, git-ignored).
	ComposeEnvFile = "compose.env"
	// ComposeStoresDir is the folder of certs/ that Kestra's container mounts where it reloads its stores:
	// copies of the stores alone, readable by the container's user.
	ComposeStoresDir = "kestra-ssl"
)

type composeMount struct{ Source, Target string }

// composeData is what compose-override.yaml.tpl sees.
type composeData struct {
	Values       map[string]any
	ComposeFlags string
	Override     string
	Service      string
	Ports        []any
	ReplacePorts bool
	Mounts       []composeMount
	EnvFile      string
	Environment  map[string]string
}

// generateCompose renders target compose: an override for the user's Compose files that makes Kestra serve
// HTTPS itself (app mode) from stores mounted read-only, with the user's configuration kept.
func generateCompose(opts Options, renderer *render.Renderer) (*Overlay, error) {
	v := opts.Values
	service, err := compose.Load(context.Background(), compose.Request{Files: v.Compose.Files, EnvFiles: v.Compose.EnvFiles, Service: v.Kestra.Service})
	if err != nil {
		return nil, err
	}
	modelOpts := modelOptions(opts, renderer, false)
	modelOpts.KestraImage = service.Image
	m, err := model.Build(modelOpts)
	if err != nil {
		return nil, err
	}
	out := &Overlay{Material: m.Material, Warnings: append(service.Warnings, m.Warnings...), Notes: m.Notes(), URL: m.URL, Renewal: m.Renewal}
	// Compose resolves every relative path against the project folder, whichever file names it.
	fromProject := func(name string) (string, error) {
		abs, err := filepath.Abs(filepath.Join(opts.Dir, name))
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(service.ProjectDir, abs)
		if err != nil || !filepath.IsLocal(rel) {
			return abs, nil
		}
		return "./" + filepath.ToSlash(rel), nil
	}
	data := composeData{Values: v.Map, Service: service.Name, ComposeFlags: composeFileFlags(v.Compose), Environment: map[string]string{}}
	// docker compose reads -f paths from where it runs, as the user passed --compose-file.
	data.Override = filepath.Join(opts.Dir, ComposeOverrideFile)
	if data.EnvFile, err = fromProject(path.Join(CertsDir, ComposeEnvFile)); err != nil {
		return nil, err
	}
	mountPath := v.App.MountPath
	stores := []string{"keystore.p12", "truststore.jks"}
	if v.App.OutboundTrust {
		stores = append(stores, model.OutboundTrustFile, model.OutboundBundleFile)
	}
	// Bind mounts keep the host's owner and mode, and the stores are written 0644, so that the image's
	// non-root user, or whichever `user:` the service names, reads them. certs/ also holds the CA key, which
	// never enters the container: the stores are mounted each on its own, or, where Kestra reloads them, as
	// the folder of their copies, since a bind mount of a file keeps showing the file it found at start
	// while a folder's shows the file renew writes in its place.
	if m.Renewal.Reloads {
		for _, file := range m.Material.Files {
			if slices.Contains(stores, file.Name) {
				out.CertsFiles = append(out.CertsFiles, fileset.File{Name: path.Join(ComposeStoresDir, file.Name), Data: file.Data, Mode: file.Mode})
			}
		}
		// Inside certs/ (0700), which keeps the host's other users out; the container reaches the folder
		// through its bind mount, which needs the folder itself traversable.
		out.MountedDirs = append(out.MountedDirs, ComposeStoresDir)
		source, err := fromProject(path.Join(CertsDir, ComposeStoresDir))
		if err != nil {
			return nil, err
		}
		data.Mounts = append(data.Mounts, composeMount{Source: source, Target: mountPath})
	} else {
		for _, store := range stores {
			source, err := fromProject(path.Join(CertsDir, store))
			if err != nil {
				return nil, err
			}
			data.Mounts = append(data.Mounts, composeMount{Source: source, Target: path.Join(mountPath, store)})
		}
	}
	var portNotes []string
	data.Ports, data.ReplacePorts, portNotes = composePorts(service, v.Values, m.DualProtocol)
	out.Notes = append(out.Notes, portNotes...)
	if err := deliverComposeConfiguration(service, m, &data, fromProject, out); err != nil {
		return nil, err
	}
	if m.JavaOpts != "" {
		javaOpts, fromEnvFile := service.FromEnvFile["JAVA_OPTS"]
		if fromEnvFile {
			out.Warnings = append(out.Warnings, fmt.Sprintf("service %s sets JAVA_OPTS in its env_file (%s): kestra-tls copies its value into %s with the trust store's options added, since Compose would otherwise replace it; re-run generate after you change it there", service.Name, strings.Join(service.EnvFiles, ", "), ComposeOverrideFile))
		} else {
			javaOpts = service.RawEnvironment["JAVA_OPTS"]
		}
		data.Environment["JAVA_OPTS"] = m.AppendJavaOpts(javaOpts)
		var kept []string
		for _, variable := range m.OutboundEnv {
			if _, theirs := service.RawEnvironment[variable.Name]; theirs {
				kept = append(kept, variable.Name)
				continue
			}
			data.Environment[variable.Name] = variable.Value
		}
		if len(kept) > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("service %s sets %s itself: kept as it is, so what reads it misses our outbound bundle or proxy; give its CAs to --trust-ca (its proxy to --proxy) and remove it for one setting everywhere", service.Name, strings.Join(kept, ", ")))
		}
	}
	if len(v.App.Registries) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("--registry %s: with Compose, Docker task runners use the host's Docker daemon, which kestra-tls does not configure: copy %s to /etc/docker/certs.d/<registry>/ca.crt on the host for each registry", strings.Join(v.App.Registries, ", "), filepath.Join(opts.Dir, CertsDir, model.OutboundBundleFile)))
	}
	password := m.Material.Bundle.Password
	if strings.ContainsAny(password, "'\n\r") {
		return nil, fmt.Errorf("the store password holds a quote or a line break, which a Compose env_file cannot carry: choose another (--store-password-file)")
	}
	out.CertsFiles = append(out.CertsFiles, fileset.File{Name: ComposeEnvFile, Data: []byte(fmt.Sprintf("# Written by kubectl kestra-tls: the store password for Kestra's container.\n%s='%s'\n", v.App.PasswordEnv, password)), Mode: fileset.Private})

	rendered, err := renderer.Render("compose-override.yaml.tpl", data)
	if err != nil {
		return nil, err
	}
	out.Files = append(out.Files, fileset.File{Name: ComposeOverrideFile, Data: rendered, Mode: fileset.Public})
	profiles := ""
	if len(service.Profiles) > 0 {
		// Kestra's service starts only with one of its profiles: the first will do.
		profiles = " --profile " + service.Profiles[0]
	}
	out.Next = fmt.Sprintf("docker compose%s%s -f %s up -d", profiles, composeFileFlags(v.Compose), data.Override)
	return out, out.addValues(v, opts.Dir)
}

// composeFileFlags are docker compose's flags for the user's project: --env-file, then -f.
func composeFileFlags(c values.Compose) string {
	var b strings.Builder
	for _, file := range c.EnvFiles {
		b.WriteString(" --env-file " + file)
	}
	for _, file := range c.Files {
		b.WriteString(" -f " + file)
	}
	return b.String()
}

// composePorts publishes the HTTPS port where the user published Kestra's HTTP port, on the same host
// addresses: never wider (a port bound to 127.0.0.1 stays on 127.0.0.1; a Kestra published nowhere is not
// published now). Compose appends port lists across files, so closing plain HTTP (8080) means replacing the
// list: every other port of the user's is kept as written, ${VAR} and all, so that no value from .env lands
// in our file. A port the user already publishes HTTPS on is theirs, and kept.
func composePorts(service *compose.Service, v values.Values, dualProtocol bool) (ports []any, replace bool, notes []string) {
	https := strconv.Itoa(v.App.Port)
	var kept, theirs []any
	var hostIPs []string
	published := false
	for i, port := range service.Ports {
		// A range entry ("8080-8081:8080-8081") comes once per port: keep the entry once.
		first := i == 0 || !sameEntry(service.Ports[i-1].Raw, port.Raw)
		switch {
		case slices.Contains(port.Targets, uint32(v.App.Port)):
			published = true
			if first {
				theirs = append(theirs, port.Raw)
			}
		case slices.Contains(port.Targets, 8080):
			if !slices.Contains(hostIPs, port.HostIP) {
				hostIPs = append(hostIPs, port.HostIP)
			}
			replace = replace || !dualProtocol
			if dualProtocol && first {
				kept = append(kept, port.Raw)
			}
		default:
			if first {
				kept = append(kept, port.Raw)
			}
		}
	}
	var ours []any
	if !published {
		for _, ip := range hostIPs {
			ours = append(ours, hostPort(ip, https))
		}
	}
	if len(hostIPs) == 0 && !published {
		notes = append(notes, fmt.Sprintf("service %s publishes no port for Kestra's UI (8080): kestra-tls publishes none for HTTPS either, so Kestra serves https://%s:%s to the Compose network only; add a ports entry to reach it from the host", service.Name, service.Name, https))
	}
	if replace {
		return append(append(kept, theirs...), ours...), true, notes
	}
	return ours, false, notes
}

func sameEntry(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// hostPort is a short-syntax port publishing port on ip (every interface when empty).
func hostPort(ip, port string) string {
	switch {
	case ip == "":
		return port + ":" + port
	case strings.Contains(ip, ":"):
		return "[" + ip + "]:" + port + ":" + port
	}
	return ip + ":" + port + ":" + port
}

// deliverComposeConfiguration puts our configuration where Kestra's launcher will read it, as for the
// Kubernetes targets: merged into a literal KESTRA_CONFIGURATION, or as one more file of
// MICRONAUT_CONFIG_FILES when the service lists its configuration files there.
func deliverComposeConfiguration(service *compose.Service, m *model.Model, data *composeData, fromProject func(string) (string, error), out *Overlay) error {
	env := service.RawEnvironment
	if _, ok := service.FromEnvFile["KESTRA_CONFIGURATION"]; ok {
		// Ours in `environment` would replace theirs whole (the datasource gone), and merging means
		// copying theirs, secrets and all, into our files, where it would silently go stale.
		return fmt.Errorf("service %s takes KESTRA_CONFIGURATION from its env_file (%s), which kestra-tls cannot add to without copying your whole configuration, secrets included, into its own files: move KESTRA_CONFIGURATION into the service's environment: (its ${VAR} references can keep the secrets in .env), or give Kestra its configuration as files listed in MICRONAUT_CONFIG_FILES, then run generate again", service.Name, strings.Join(service.EnvFiles, ", "))
	}
	literal, hasLiteral := env["KESTRA_CONFIGURATION"]
	files, hasFiles := env["MICRONAUT_CONFIG_FILES"]
	if fromEnvFile, ok := service.FromEnvFile["MICRONAUT_CONFIG_FILES"]; ok {
		files, hasFiles = fromEnvFile, true
		out.Warnings = append(out.Warnings, fmt.Sprintf("service %s lists its configuration files in MICRONAUT_CONFIG_FILES in its env_file (%s): kestra-tls copies that list (%s) into %s with its own file last, since Compose would otherwise replace it; re-run generate after you change it there", service.Name, strings.Join(service.EnvFiles, ", "), fromEnvFile, ComposeOverrideFile))
	}
	if mounted := mountedConfigFiles(service); !hasLiteral && !hasFiles && len(mounted) > 0 {
		// Configuration files mounted without being listed: Kestra's launcher would write our
		// KESTRA_CONFIGURATION over /app/confs/application.yml. Listing them, then ours, keeps them read.
		files, hasFiles = strings.Join(mounted, ","), true
		out.Warnings = append(out.Warnings, fmt.Sprintf("service %s mounts %s without listing it in MICRONAUT_CONFIG_FILES: kestra-tls lists it there, before its own file", service.Name, strings.Join(mounted, ", ")))
	}
	if hasFiles && !(hasLiteral && strings.TrimSpace(literal) != "") {
		fragment, err := m.FragmentYAML()
		if err != nil {
			return err
		}
		out.Files = append(out.Files, fileset.File{Name: model.ConfigFile, Data: fragment, Mode: fileset.Public})
		source, err := fromProject(model.ConfigFile)
		if err != nil {
			return err
		}
		data.Mounts = append(data.Mounts, composeMount{Source: source, Target: ConfigMountPath})
		data.Environment["MICRONAUT_CONFIG_FILES"] = appendConfigFile(files)
		return nil
	}
	if hasFiles {
		out.Warnings = append(out.Warnings, fmt.Sprintf("service %s sets both KESTRA_CONFIGURATION and MICRONAUT_CONFIG_FILES: Kestra's launcher replaces MICRONAUT_CONFIG_FILES with the file it writes from KESTRA_CONFIGURATION, so Kestra reads none of the listed files today. kestra-tls merges into KESTRA_CONFIGURATION", service.Name))
	}
	// Compose interpolates this file: our placeholders are escaped, the user's text is kept as written.
	source := "KESTRA_CONFIGURATION of service " + service.Name
	merged, err := m.MergeInto(literal, source)
	if err != nil {
		return err
	}
	merged, verified, err := m.DatasourceTrust(merged, source)
	if err != nil {
		return err
	}
	for _, name := range verified {
		out.Notes = append(out.Notes, fmt.Sprintf("service %s: its PostgreSQL datasource %s verifies the database's certificate against the outbound bundle (sslrootcert)", service.Name, name))
	}
	data.Environment["KESTRA_CONFIGURATION"] = escapeOurPlaceholders(merged, m)
	return nil
}

// mountedConfigFiles are the YAML files the service mounts into Kestra's configuration folders, in order.
func mountedConfigFiles(service *compose.Service) []string {
	var files []string
	for _, target := range service.VolumeTargets {
		ext := path.Ext(target)
		if (ext == ".yml" || ext == ".yaml") && (path.Dir(target) == "/app/confs" || path.Dir(target) == "/app") && target != ConfigMountPath {
			files = append(files, target)
		}
	}
	return files
}

// escapeOurPlaceholders turns ${PASSWORD_ENV} into $${PASSWORD_ENV}, which Compose passes on as
// ${PASSWORD_ENV} for Micronaut to resolve from the container's environment.
func escapeOurPlaceholders(text string, m *model.Model) string {
	placeholder := "${" + m.Values.App.PasswordEnv + "}"
	return strings.ReplaceAll(strings.ReplaceAll(text, "$"+placeholder, placeholder), placeholder, "$"+placeholder)
}
