// Package compose gives generate the service that runs Kestra in a Docker Compose project, as docker compose
// reads it. The reading itself (compose-go, its own loader: include, extends, profiles, .env and ${VAR}
// interpolation) is done by the kestra-tls-compose binary installed beside the engine (pkg/compose/reader),
// so that compose-go and the JSON Schema compiler it initializes at start-up weigh only on
// `generate --target compose`.
package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/launch"
)

// Request names the project and the service, as generate's flags do.
type Request struct {
	// Files are --compose-file, in order; EnvFiles --env-file (empty: the project's .env).
	Files    []string `json:"files"`
	EnvFiles []string `json:"envFiles,omitempty"`
	// Service is --service: empty picks the only one that runs Kestra.
	Service string `json:"service,omitempty"`
}

// Service is Kestra's service as the project defines it.
type Service struct {
	// ProjectDir is where docker compose resolves the relative paths of every file of the project: the
	// folder of the first compose file.
	ProjectDir string `json:"projectDir"`
	Name       string `json:"name"`
	// RawEnvironment is the service's environment before interpolation, so that what we write back keeps
	// the user's ${VAR} references (and never bakes in a value from .env).
	RawEnvironment map[string]string `json:"rawEnvironment"`
	// Ports are the service's ports as written, each with the container ports it publishes.
	Ports []Port `json:"ports"`
	// VolumeTargets are where the service's volumes are mounted in the container, as docker compose
	// resolves them.
	VolumeTargets []string `json:"volumeTargets"`
	// FromEnvFile are the variables among ReadFromEnvFile that the service gets from its env_file only,
	// with their values: generate cannot add to them without copying them.
	FromEnvFile map[string]string `json:"fromEnvFile,omitempty"`
	// EnvFiles are the service's env_file paths.
	EnvFiles []string `json:"envFiles,omitempty"`
	// Profiles are the service's profiles: docker compose starts it only with one of them.
	Profiles []string `json:"profiles,omitempty"`
	// Warnings are what docker compose's loader noticed (an unset variable, an obsolete key).
	Warnings []string `json:"warnings,omitempty"`
}

// ReadFromEnvFile are the variables generate writes or adds to: it must know when an env_file sets them.
var ReadFromEnvFile = []string{"KESTRA_CONFIGURATION", "MICRONAUT_CONFIG_FILES", "JAVA_OPTS"}

// Port is one entry of the service's ports.
type Port struct {
	// Raw is the entry as written (a short string or a long-syntax mapping), ${VAR} kept.
	Raw any `json:"raw"`
	// Targets are the container ports it publishes, its ${VAR} replaced as docker compose replaces them.
	Targets []uint32 `json:"targets"`
	// HostIP is the host address it is published on (empty: every interface), resolved likewise.
	HostIP string `json:"hostIP,omitempty"`
}

// Reply is what the reader writes: the service, or why there is none.
type Reply struct {
	Service *Service `json:"service,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Load runs the reader beside this binary on the request. Its errors name the flag and say what to fix.
func Load(ctx context.Context, request Request) (*Service, error) {
	if len(request.Files) == 0 {
		return nil, fmt.Errorf("--compose-file is required with --target compose: pass your docker-compose.yml")
	}
	path, err := launch.Beside(launch.ComposeReaderName())
	if err != nil {
		return nil, err
	}
	input, err := json.Marshal(request)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), &stdout, &stderr
	runErr := cmd.Run()
	var reply Reply
	if err := json.Unmarshal(stdout.Bytes(), &reply); err != nil {
		if runErr == nil {
			runErr = err
		}
		return nil, fmt.Errorf("%s could not read the Compose project: %v %s", path, runErr, bytes.TrimSpace(stderr.Bytes()))
	}
	if reply.Error != "" {
		return nil, errors.New(reply.Error)
	}
	if reply.Service == nil {
		return nil, fmt.Errorf("%s answered without a service", path)
	}
	return reply.Service, nil
}
