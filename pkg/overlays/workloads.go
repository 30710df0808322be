package overlays

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
)

// ConfigMountPath is where the server container reads our configuration file when the base gives Kestra
// its configuration as files (MICRONAUT_CONFIG_FILES): beside the chart's /app/confs/_default.yml.
const ConfigMountPath = "/app/confs/" + model.ConfigFile

// The ways our configuration reaches Micronaut.
const (
	// DeliverEnv merges it into the literal KESTRA_CONFIGURATION (the guide's style).
	DeliverEnv = "KESTRA_CONFIGURATION"
	// DeliverFile appends a mounted file to MICRONAUT_CONFIG_FILES (the chart's style): Kestra's launcher
	// replaces MICRONAUT_CONFIG_FILES whenever KESTRA_CONFIGURATION is set, so that variable must stay unset.
	DeliverFile = "MICRONAUT_CONFIG_FILES"
)

// workloadPatch is what one Kestra workload gets; workload-patch.yaml.tpl renders it.
type workloadPatch struct {
	File                  string
	Kind, Name, Container string
	Env                   []envVar
	Mounts                []mount
	HTTPS                 bool
	MountsStores          bool
	// StoreKeys are the keys of the stores Secret the volume lays out, each StoresMode.
	StoreKeys    []string
	StoresMode   int
	MountsConfig bool
	// DropMounts (mount paths) and DropVolumes (names) are the base's own SSL mount, which ours replaces.
	DropMounts, DropVolumes []string
	// Adopted says what of the base's own SSL setup this patch replaces, one line each.
	Adopted []string
	// Delivery is how our configuration reaches the server: DeliverEnv or DeliverFile; empty elsewhere.
	Delivery string
	// Daemons are the pod's Docker daemons that get the registries' CAs, RegistryItems their files.
	Daemons       []daemonMount
	RegistryItems []registryItem
}

// RegistriesVolume lays the outbound bundle out as each registry's ca.crt for the Docker daemons.
const RegistriesVolume = model.RegistriesVolume

type daemonMount struct{ Container, MountPath string }

type registryItem struct{ Key, Path string }

type envVar struct {
	Name, Value           string
	Block                 bool
	SecretName, SecretKey string
}

type mount struct{ Name, MountPath, SubPath string }

// planWorkloads decides, for each Kestra workload of the base, what it gets: the server our configuration
// (by the delivery its environment calls for), the HTTPS port and the stores; every component the outbound
// trust, since workers run the tasks that call out.
func planWorkloads(install *kestra.Install, m *model.Model) ([]workloadPatch, []string, error) {
	v := m.Values
	var patches []workloadPatch
	var warnings []string
	for _, w := range install.Workloads {
		server := w.Kind == install.Server.Kind && w.Name == install.Server.Name
		p := workloadPatch{
			File: "patch-" + strings.ToLower(w.Kind) + "-" + w.Name + ".yaml",
			Kind: w.Kind, Name: w.Name, Container: w.Container,
		}
		if server {
			delivery, warning, err := chooseDelivery(w)
			if err != nil {
				return nil, nil, err
			}
			if warning != "" {
				warnings = append(warnings, warning)
			}
			p.Delivery = delivery
			if v.ServesHTTPS() {
				p.Env = append(p.Env, envVar{Name: v.App.PasswordEnv, SecretName: v.App.PasswordSecretName, SecretKey: "password"})
				p.HTTPS = true
			}
			if delivery == DeliverEnv {
				configuration, removed, err := model.WithoutSSL(w.Env.KestraConfiguration)
				if err != nil {
					return nil, nil, fmt.Errorf("the KESTRA_CONFIGURATION of %s %s is not valid YAML: %v (fix it in the base)", w.Kind, w.Name, err)
				}
				if removed {
					p.Adopted = append(p.Adopted, fmt.Sprintf("%s %s: the micronaut.server.ssl of its KESTRA_CONFIGURATION (keystore, password in plain text) is replaced by ours", w.Kind, w.Name))
				}
				source := fmt.Sprintf("the KESTRA_CONFIGURATION of %s %s", w.Kind, w.Name)
				merged, err := m.MergeInto(configuration, source)
				if err != nil {
					return nil, nil, err
				}
				merged, verified, err := m.DatasourceTrust(merged, source)
				if err != nil {
					return nil, nil, err
				}
				for _, name := range verified {
					p.Adopted = append(p.Adopted, fmt.Sprintf("%s %s: its PostgreSQL datasource %s verifies the database's certificate against the outbound bundle (sslrootcert)", w.Kind, w.Name, name))
				}
				p.Env = append(p.Env, envVar{Name: "KESTRA_CONFIGURATION", Value: merged, Block: true})
			} else {
				p.Env = append(p.Env, envVar{Name: "MICRONAUT_CONFIG_FILES", Value: appendConfigFile(w.Env.ConfigFiles)})
				p.Mounts = append(p.Mounts, mount{Name: model.ConfigName, MountPath: ConfigMountPath, SubPath: model.ConfigFile})
				p.MountsConfig = true
			}
		}
		if m.JavaOpts != "" {
			name, err := javaOptsVariable(w)
			if err != nil {
				return nil, nil, err
			}
			p.Env = append(p.Env, envVar{Name: name, Value: m.AppendJavaOpts(withoutTrustStore(w, name, &p))})
			var kept []string
			for _, variable := range m.OutboundEnv {
				if slices.Contains(w.Env.Names, variable.Name) {
					kept = append(kept, variable.Name)
					continue
				}
				p.Env = append(p.Env, envVar{Name: variable.Name, Value: variable.Value})
			}
			if len(kept) > 0 {
				warnings = append(warnings, fmt.Sprintf("%s %s sets %s itself: kept as it is, so what reads it misses our outbound bundle or proxy; give its CAs to --trust-ca (its proxy to --proxy) and remove it from the base for one setting everywhere", w.Kind, w.Name, strings.Join(kept, ", ")))
			}
		} else {
			// The guide's JAVA_OPTS trust store points into the mount ours replaces, with its own password.
			for _, name := range []string{"JAVA_OPTS", "_JAVA_OPTIONS"} {
				if value, ok := w.Env.JavaOpts[name]; ok && trustStoreFlag.MatchString(value) && !slices.Contains(w.Env.FromValueFrom, name) {
					p.Env = append(p.Env, envVar{Name: name, Value: withoutTrustStore(w, name, &p)})
				}
			}
		}
		if (server && m.MountsStores()) || m.OutboundTrust() {
			p.Mounts = append([]mount{{Name: model.StoresVolume, MountPath: v.App.MountPath}}, p.Mounts...)
			p.MountsStores = true
			p.StoreKeys, p.StoresMode = model.StoreKeys(v.Values), model.StoresFileMode
		}
		if m.OutboundTrust() && len(v.App.Registries) > 0 {
			for _, daemon := range w.Docker {
				p.Daemons = append(p.Daemons, daemonMount{Container: daemon.Container, MountPath: daemon.CertsDir()})
			}
			if len(p.Daemons) > 0 {
				for _, registry := range v.App.Registries {
					p.RegistryItems = append(p.RegistryItems, registryItem{Key: model.OutboundBundleFile, Path: registry + "/ca.crt"})
				}
			}
		}
		dropBaseSSLMount(w, v.App.MountPath, &p)
		if len(p.Env) == 0 && len(p.Mounts) == 0 && !p.HTTPS && len(p.DropMounts) == 0 && len(p.Daemons) == 0 {
			continue
		}
		patches = append(patches, p)
	}
	if len(v.App.Registries) > 0 && !slices.ContainsFunc(patches, func(p workloadPatch) bool { return len(p.Daemons) > 0 }) {
		warnings = append(warnings, fmt.Sprintf("--registry %s: no Kestra workload of the base has a Docker-in-Docker sidecar (docker:dind), so no Docker daemon gets the registries' CA; Docker task runners on the node's own Docker read /etc/docker/certs.d on the node", strings.Join(v.App.Registries, ", ")))
	}
	return patches, warnings, nil
}

// chooseDelivery reads how the server's container is configured today, the way Kestra's launcher does.
func chooseDelivery(w kestra.Workload) (string, string, error) {
	env := w.Env
	literal := env.HasKestraConfiguration && strings.TrimSpace(env.KestraConfiguration) != ""
	if slices.Contains(env.FromValueFrom, "KESTRA_CONFIGURATION") {
		return "", "", fmt.Errorf("KESTRA_CONFIGURATION of container %q in %s %s comes from valueFrom; kestra-tls can only merge into a literal value (inline it in the base, or list your configuration files in MICRONAUT_CONFIG_FILES)", w.Container, w.Kind, w.Name)
	}
	if env.HasConfigFiles && !literal {
		if slices.Contains(env.FromValueFrom, "MICRONAUT_CONFIG_FILES") {
			return "", "", fmt.Errorf("MICRONAUT_CONFIG_FILES of container %q in %s %s comes from valueFrom; kestra-tls must append its file to the list (make it a literal value in the base)", w.Container, w.Kind, w.Name)
		}
		return DeliverFile, "", nil
	}
	warning := ""
	if env.HasConfigFiles && literal {
		warning = fmt.Sprintf("%s %s sets both KESTRA_CONFIGURATION and MICRONAUT_CONFIG_FILES (%s): Kestra's launcher writes KESTRA_CONFIGURATION to /app/confs/application.yml and replaces MICRONAUT_CONFIG_FILES with that one file, so Kestra reads none of the listed files today. kestra-tls merges into KESTRA_CONFIGURATION; move what those files hold into it, or remove KESTRA_CONFIGURATION so that the files count", w.Kind, w.Name, env.ConfigFiles)
	}
	return DeliverEnv, warning, nil
}

// appendConfigFile lists our file last, so that Micronaut lets it win over the base's files.
func appendConfigFile(files string) string {
	var kept []string
	for _, file := range strings.Split(files, ",") {
		if file = strings.TrimSpace(file); file != "" && file != ConfigMountPath {
			kept = append(kept, file)
		}
	}
	return strings.Join(append(kept, ConfigMountPath), ",")
}

// javaOptsVariable is where JVM flags go: _JAVA_OPTIONS when the base uses it (the chart does; the JVM
// reads it after the command line, so it has the last word), else JAVA_OPTS, which Kestra's launcher passes.
func javaOptsVariable(w kestra.Workload) (string, error) {
	name := "JAVA_OPTS"
	if _, ok := w.Env.JavaOpts["_JAVA_OPTIONS"]; ok {
		name = "_JAVA_OPTIONS"
	}
	if slices.Contains(w.Env.FromValueFrom, name) {
		return "", fmt.Errorf("%s of container %q in %s %s comes from valueFrom; kestra-tls must append the outbound trust store to it (make it a literal value in the base, or drop --outbound-trust)", name, w.Container, w.Kind, w.Name)
	}
	return name, nil
}

// trustStoreFlag matches the JVM trust store flags the guide puts in JAVA_OPTS.
var trustStoreFlag = regexp.MustCompile(`\s*-Djavax\.net\.ssl\.trustStore(Password|Type)?=\S*`)

// withoutTrustStore is the workload's JVM options variable without the guide's trust store flags: ours
// replace them (or, without --outbound-trust, the file they name goes with the mount ours replaces, and its
// password is in plain text).
func withoutTrustStore(w kestra.Workload, name string, p *workloadPatch) string {
	value := w.Env.JavaOpts[name]
	cleaned := strings.TrimSpace(trustStoreFlag.ReplaceAllString(value, ""))
	if cleaned != strings.TrimSpace(value) {
		p.Adopted = append(p.Adopted, fmt.Sprintf("%s %s: the javax.net.ssl.trustStore flags of its %s are replaced by ours", w.Kind, w.Name, name))
	}
	return cleaned
}

// dropBaseSSLMount replaces the base's own mount at the stores' path (the guide's ssl-secret volume):
// a strategic merge keys volumeMounts by mountPath, so ours takes its place when we mount the stores;
// otherwise it goes, and so does its volume.
func dropBaseSSLMount(w kestra.Workload, mountPath string, p *workloadPatch) {
	for _, m := range w.Mounts {
		if path.Clean(m.MountPath) != path.Clean(mountPath) || m.Name == model.StoresVolume {
			continue
		}
		if !p.MountsStores {
			p.DropMounts = append(p.DropMounts, m.MountPath)
		}
		p.DropVolumes = append(p.DropVolumes, m.Name)
		p.Adopted = append(p.Adopted, fmt.Sprintf("%s %s: its volume %s at %s is replaced by ours", w.Kind, w.Name, m.Name, m.MountPath))
	}
}
