// Package compose gives generate the service that runs Kestra in a Docker Compose project, as docker compose
// reads it: with compose-go, docker compose's own loader (include, extends, profiles, .env and ${VAR}
// interpolation).
package compose

// Request names the project and the service, as generate's flags do.
type Request struct {
	// Files are --compose-file, in order; EnvFiles --env-file (empty: the project's .env).
	Files    []string
	EnvFiles []string
	// Service is --service: empty picks the only one that runs Kestra.
	Service string
}

// Service is Kestra's service as the project defines it.
type Service struct {
	// ProjectDir is where docker compose resolves the relative paths of every file of the project: the
	// folder of the first compose file.
	ProjectDir string
	Name       string
	// Image is the service's image as resolved (its tag tells the Kestra version).
	Image string
	// RawEnvironment is the service's environment before interpolation, so that what we write back keeps
	// the user's ${VAR} references (and never bakes in a value from .env).
	RawEnvironment map[string]string
	// Ports are the service's ports as written, each with the container ports it publishes.
	Ports []Port
	// VolumeTargets are where the service's volumes are mounted in the container, as docker compose
	// resolves them.
	VolumeTargets []string
	// FromEnvFile are the variables among ReadFromEnvFile that the service gets from its env_file only,
	// with their values: generate cannot add to them without copying them.
	FromEnvFile map[string]string
	// EnvFiles are the service's env_file paths.
	EnvFiles []string
	// Profiles are the service's profiles: docker compose starts it only with one of them.
	Profiles []string
	// Warnings are what docker compose's loader noticed (an unset variable, an obsolete key).
	Warnings []string
}

// ReadFromEnvFile are the variables generate writes or adds to: it must know when an env_file sets them.
var ReadFromEnvFile = []string{"KESTRA_CONFIGURATION", "MICRONAUT_CONFIG_FILES", "JAVA_OPTS"}

// Port is one entry of the service's ports.
type Port struct {
	// Raw is the entry as written (a short string or a long-syntax mapping), ${VAR} kept.
	Raw any
	// Targets are the container ports it publishes, its ${VAR} replaced as docker compose replaces them.
	Targets []uint32
	// HostIP is the host address it is published on (empty: every interface), resolved likewise.
	HostIP string
}
