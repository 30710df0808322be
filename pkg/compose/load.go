package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// Load reads the project of request.Files and returns the Kestra service: the one named request.Service, or
// the only one that runs Kestra's image (or is named kestra). request.EnvFiles are docker compose's
// --env-file files (empty: the project's .env).
func Load(ctx context.Context, request Request) (*Service, error) {
	files, envFiles, service := request.Files, request.EnvFiles, request.Service
	if len(files) == 0 {
		return nil, fmt.Errorf("--compose-file is required with --target compose: pass your docker-yml")
	}
	flag := "--compose-file " + strings.Join(files, ",")
	for _, file := range envFiles {
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("--env-file %s: %v (pass the file docker compose reads ${VAR} values from)", file, errors.Unwrap(err))
		}
	}
	// compose-go says what it notices (an unset variable, an obsolete key) through logrus: those become
	// our warnings instead of log lines on the terminal.
	notes := &warningHook{}
	logger := logrus.StandardLogger()
	out, hooks := logger.Out, logger.ReplaceHooks(logrus.LevelHooks{})
	logger.SetOutput(io.Discard)
	logger.AddHook(notes)
	defer func() { logger.SetOutput(out); logger.ReplaceHooks(hooks) }()
	options, err := projectOptions(files, envFiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, explain(err))
	}
	project, err := options.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (docker compose would refuse it too: fix the file)", flag, explain(err))
	}
	name, err := pick(project, service, flag)
	if err != nil {
		return nil, err
	}
	s := &Service{ProjectDir: project.WorkingDir, Name: name}
	resolved := project.Services[name]
	for _, volume := range resolved.Volumes {
		s.VolumeTargets = append(s.VolumeTargets, volume.Target)
	}
	raw, err := rawService(ctx, files, envFiles, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, explain(err))
	}
	s.RawEnvironment = rawEnvironment(raw)
	s.Profiles = resolved.Profiles
	for _, file := range resolved.EnvFiles {
		s.EnvFiles = append(s.EnvFiles, file.Path)
	}
	// The resolved environment holds the env_file's variables too; the raw one only `environment`'s.
	for _, key := range ReadFromEnvFile {
		if value, ok := resolved.Environment[key]; ok && value != nil {
			if _, written := s.RawEnvironment[key]; !written {
				if s.FromEnvFile == nil {
					s.FromEnvFile = map[string]string{}
				}
				s.FromEnvFile[key] = *value
			}
		}
	}
	for _, entry := range list(raw["ports"]) {
		configs, err := portConfigs(name, entry, project.Environment)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", flag, err)
		}
		for _, c := range configs {
			s.Ports = append(s.Ports, Port{Raw: entry, Targets: []uint32{c.Target}, HostIP: c.HostIP})
		}
	}
	s.Image = resolved.Image
	if resolved.Image != "" && !isKestraImage(resolved.Image) {
		notes.messages = append(notes.messages, fmt.Sprintf("service %s runs %s, not Kestra's image (kestra/kestra, registry.kestra.io/docker/kestra): kestra-tls takes it for Kestra by its name only; name Kestra's service with --service if it is another", name, resolved.Image))
	}
	s.Warnings = notes.messages
	return s, nil
}

// warningHook keeps compose-go's warnings.
type warningHook struct{ messages []string }

func (h *warningHook) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }

func (h *warningHook) Fire(entry *logrus.Entry) error {
	if !slices.Contains(h.messages, entry.Message) {
		h.messages = append(h.messages, "docker compose: "+entry.Message)
	}
	return nil
}

// portConfigs are the container ports a port entry as written publishes, and on which host address, its
// ${VAR} replaced with variables as docker compose replaces them.
func portConfigs(service string, entry any, variables map[string]string) ([]types.ServicePortConfig, error) {
	// An unset variable is empty, as docker compose makes it; the loader has already warned about it.
	mapping := func(name string) (string, bool) {
		return variables[name], true
	}
	switch p := entry.(type) {
	case string:
		resolved, err := template.Substitute(p, mapping)
		if err != nil {
			return nil, err
		}
		configs, err := types.ParsePortConfig(resolved)
		if err != nil {
			return nil, fmt.Errorf("service %s, port %q (%q after interpolation): %v", service, p, resolved, err)
		}
		return configs, nil
	case map[string]any:
		resolved, err := template.Substitute(fmt.Sprint(p["target"]), mapping)
		if err != nil {
			return nil, err
		}
		target, err := strconv.ParseUint(resolved, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("service %s, port target %v (%q after interpolation): not a port number", service, p["target"], resolved)
		}
		hostIP := ""
		if ip, ok := p["host_ip"]; ok && ip != nil {
			if hostIP, err = template.Substitute(fmt.Sprint(ip), mapping); err != nil {
				return nil, err
			}
		}
		return []types.ServicePortConfig{{Target: uint32(target), HostIP: hostIP}}, nil
	}
	return nil, fmt.Errorf("service %s: a port entry %v that is neither a string nor a mapping", service, entry)
}

func list(node any) []any {
	items, _ := node.([]any)
	return items
}

// rawService is the service as written, ${VAR} kept: the merged model of every file (include and extends
// applied) before interpolation, which is all YAML and no types, since a field such as a port or a duration
// only becomes one once its ${VAR} is replaced. Values from env_file are not in it.
func rawService(ctx context.Context, files, envFiles []string, service string) (map[string]any, error) {
	options, err := projectOptions(files, envFiles, cli.WithInterpolation(false), cli.WithLoadOptions(func(o *loader.Options) {
		o.SkipValidation, o.SkipResolveEnvironment, o.SkipNormalization = true, true, true
	}))
	if err != nil {
		return nil, err
	}
	model, err := options.LoadModel(ctx)
	if err != nil {
		return nil, err
	}
	services, _ := model["services"].(map[string]any)
	definition, _ := services[service].(map[string]any)
	return definition, nil
}

func rawEnvironment(definition map[string]any) map[string]string {
	env := map[string]string{}
	switch entries := definition["environment"].(type) {
	case map[string]any:
		for key, value := range entries {
			if value != nil {
				env[key] = fmt.Sprint(value)
			}
		}
	case []any:
		for _, entry := range entries {
			if key, value, ok := strings.Cut(fmt.Sprint(entry), "="); ok {
				env[key] = value
			}
		}
	}
	return env
}

func projectOptions(files, envFiles []string, extra ...cli.ProjectOptionsFn) (*cli.ProjectOptions, error) {
	absolute := make([]string, len(files))
	for i, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, err
		}
		absolute[i] = abs
	}
	base := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(absolute[0])),
		cli.WithOsEnv, cli.WithEnvFiles(envFiles...), cli.WithDotEnv,
		// Kestra's service may sit behind a profile: every profile counts when looking for it.
		cli.WithProfiles([]string{"*"}),
		cli.WithName("kestra-tls"),
	}
	return cli.NewProjectOptions(absolute, append(base, extra...)...)
}

// decoderField is how compose-go's decoder names a field it could not fill.
var decoderField = regexp.MustCompile(`'services\[([^\]]+)\]\.([^']+)' (.*)`)

// explain turns a decoder's message into the service and field it is about.
func explain(err error) error {
	if match := decoderField.FindStringSubmatch(err.Error()); match != nil {
		return fmt.Errorf("service %s, field %s: %s (after interpolation; check the variables it uses in .env or --env-file)", match[1], match[2], match[3])
	}
	return err
}

func pick(project *types.Project, service, flag string) (string, error) {
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	if service != "" {
		if !slices.Contains(names, service) {
			return "", fmt.Errorf("%s has no service %q (--service): it has %s", flag, service, strings.Join(names, ", "))
		}
		return service, nil
	}
	var candidates []string
	for _, name := range names {
		if runsKestra(project.Services[name]) {
			candidates = append(candidates, name)
		}
	}
	switch len(candidates) {
	case 0:
		return "", fmt.Errorf("%s has no service that runs Kestra (by image kestra/kestra or registry.kestra.io, or named kestra): name it with --service (services: %s)", flag, strings.Join(names, ", "))
	case 1:
		return candidates[0], nil
	}
	return "", fmt.Errorf("%s: services %s all run Kestra: pick the one that serves the UI with --service", flag, strings.Join(candidates, ", "))
}

// runsKestra: the image's repository is kestra (kestra/kestra, registry.kestra.io/docker/kestra, a mirror
// of it), or the service is named kestra.
func runsKestra(s types.ServiceConfig) bool {
	return isKestraImage(s.Image) || s.Name == "kestra"
}

func isKestraImage(image string) bool {
	repository := strings.ToLower(image)
	if at := strings.Index(repository, "@"); at >= 0 {
		repository = repository[:at]
	}
	if colon := strings.LastIndex(repository, ":"); colon > strings.LastIndex(repository, "/") {
		repository = repository[:colon]
	}
	return repository[strings.LastIndex(repository, "/")+1:] == "kestra"
}
