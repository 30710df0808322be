// Package compose reads a Docker Compose project the way docker compose does (compose-go, its own loader:
// include, extends, profiles, .env and ${VAR} interpolation) and finds the service that runs Kestra.
package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Service is Kestra's service as the project defines it.
type Service struct {
	// ProjectDir is where docker compose resolves the relative paths of every file of the project: the
	// folder of the first compose file.
	ProjectDir string
	Name       string
	// RawEnvironment is the service's environment before interpolation, so that what we write back keeps
	// the user's ${VAR} references (and never bakes in a value from .env).
	RawEnvironment map[string]string
	// Ports and Volumes are as docker compose resolves them.
	Ports   []types.ServicePortConfig
	Volumes []types.ServiceVolumeConfig
	// User is the service's user: (empty for the image's own).
	User string
}

// Load reads the project of files and returns the Kestra service: the one named service, or the only one
// that runs Kestra's image (or is named kestra).
func Load(ctx context.Context, files []string, service string) (*Service, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("--compose-file is required with --target compose: pass your docker-compose.yml")
	}
	flag := "--compose-file " + strings.Join(files, ",")
	project, err := load(ctx, files, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (docker compose would refuse it too: fix the file)", flag, err)
	}
	name, err := pick(project, service, flag)
	if err != nil {
		return nil, err
	}
	raw, err := load(ctx, files, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, err)
	}
	s := &Service{ProjectDir: project.WorkingDir, Name: name, RawEnvironment: map[string]string{}}
	resolved := project.Services[name]
	s.Ports, s.Volumes, s.User = resolved.Ports, resolved.Volumes, resolved.User
	if rawService, ok := raw.Services[name]; ok {
		for key, value := range rawService.Environment {
			if value != nil {
				s.RawEnvironment[key] = *value
			}
		}
	}
	return s, nil
}

func load(ctx context.Context, files []string, interpolate bool) (*types.Project, error) {
	absolute := make([]string, len(files))
	for i, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, err
		}
		absolute[i] = abs
	}
	options, err := cli.NewProjectOptions(absolute,
		cli.WithWorkingDirectory(filepath.Dir(absolute[0])),
		cli.WithOsEnv, cli.WithEnvFiles(), cli.WithDotEnv,
		// Kestra's service may sit behind a profile: every profile counts when looking for it.
		cli.WithProfiles([]string{"*"}),
		cli.WithInterpolation(interpolate),
		cli.WithName("kestra-tls"),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(ctx)
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
	repository := strings.ToLower(s.Image)
	if at := strings.Index(repository, "@"); at >= 0 {
		repository = repository[:at]
	}
	if colon := strings.LastIndex(repository, ":"); colon > strings.LastIndex(repository, "/") {
		repository = repository[:colon]
	}
	return repository[strings.LastIndex(repository, "/")+1:] == "kestra" || s.Name == "kestra"
}
