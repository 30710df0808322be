package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// composeCases are the ways Compose users configure Kestra; each name is also its golden folder.
var composeCases = []struct {
	name, dir string
	// service is the name of Kestra's service in the project.
	service string
	// user is the service's `user:` as docker compose resolves it; empty runs the image's own non-root user.
	user string
	// envFiles are passed as --env-file, to generate and to docker compose alike.
	envFiles []string
	// userKeys must survive in the configuration Kestra reads.
	userKeys []string
	delivery string
	// fromEnv are values from .env or --env-file that must never be written into our files.
	fromEnv []string
	// keptPort is a port of the user's that must stay published, as written.
	keptPort string
	// profile is the service's profile, which the start command must name; hostIP the address Kestra's
	// UI was published on, which HTTPS must keep.
	profile, hostIP string
}{
	{name: "compose-guide", dir: "testdata/compose/guide", service: "kestra", user: "root", userKeys: []string{"datasources.postgres.url", "kestra.queue.type", "kestra.server.basic-auth.enabled"}, delivery: "KESTRA_CONFIGURATION"},
	{name: "compose-extends-include", dir: "testdata/compose/extends-include", service: "kestra", user: "0", userKeys: []string{"datasources.postgres.url", "kestra.repository.type"}, delivery: "KESTRA_CONFIGURATION"},
	{name: "compose-mounted-config", dir: "testdata/compose/mounted-config", service: "kestra", user: "root", userKeys: []string{"datasources.h2.url", "kestra.queue.type"}, delivery: "MICRONAUT_CONFIG_FILES"},
	{name: "compose-config-files", dir: "testdata/compose/config-files", service: "kestra", userKeys: []string{"datasources.h2.url", "kestra.encryption.secret-key", "kestra.storage.local.base-path"}, delivery: "MICRONAUT_CONFIG_FILES", profile: "app", hostIP: "127.0.0.1"},
	{name: "compose-interpolated", dir: "testdata/compose/interpolated", service: "orchestrator", user: "1000", userKeys: []string{"datasources.postgres.password", "kestra.repository.type"}, delivery: "KESTRA_CONFIGURATION",
		fromEnv: []string{"s3cret-from-dotenv", "18081", "30s", "2g"}, keptPort: `"${MANAGEMENT_PORT}:8081"`},
	{name: "compose-env-file", dir: "testdata/compose/env-file", service: "kestra", envFiles: []string{"config/prod.env"}, userKeys: []string{"datasources.h2.password", "kestra.queue.type"}, delivery: "KESTRA_CONFIGURATION",
		fromEnv: []string{"s3cret-from-env-file", "1.1.0"}},
}

// TestComposeTarget writes the override for each Compose project, then has the real docker compose CLI
// (bin/docker-compose, built from the Go module proxy) read the pair, the user's files and ours, and
// starts Kestra's service from the effective service the CLI prints, the way docker and Kestra's launcher
// would: every key of the user's configuration and of ours is there, the stores are mounted as the folder
// of their copies (never the CA key; the folder is 0755 inside certs/, which stays 0700 to the host's other
// users), 8443 is published and 8080 no longer, the password arrives through the env_file
// only, no value of .env or --env-file is written into our files, and a JVM run as the service's user
// serves TLS from exactly what the service mounts, reached by curl by name and IP. compose-go, the library
// generate reads projects with, must agree with the CLI on the service.
func TestComposeTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the JVM and docker compose (-short)")
	}
	goldenRoot, err := filepath.Abs(filepath.Join("testdata", "generate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range composeCases {
		t.Run(tc.name, func(t *testing.T) {
			project := t.TempDir()
			if err := os.CopyFS(project, os.DirFS(tc.dir)); err != nil {
				t.Fatal(err)
			}
			t.Chdir(project)
			args := []string{"generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--host", "kestra.example.com", "--host", "127.0.0.1", "--outbound-trust", "--csrf", "-o", "kestra-tls"}
			var envFlags []string
			for _, file := range tc.envFiles {
				envFlags = append(envFlags, "--env-file", file)
			}
			args = append(args, envFlags...)
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			profile := ""
			if tc.profile != "" {
				profile = " --profile " + tc.profile
			}
			if !strings.Contains(stdout, "docker compose"+profile+strings.Join(append([]string{""}, envFlags...), " ")+" -f docker-compose.yml -f kestra-tls/compose.kestra-tls.yaml up -d") {
				t.Errorf("generate does not say how to start it:\n%s", stdout)
			}
			if strings.Contains(stderr, "Warning") && strings.Contains(stderr, "runs as") {
				t.Errorf("a warning about the service's user, which any user now reads the stores as:\n%s", stderr)
			}
			got := readTree(t, "kestra-tls", overlays.CertsDir)
			golden := filepath.Join(goldenRoot, tc.name)
			if *update {
				os.RemoveAll(golden)
				for name, content := range got {
					os.MkdirAll(filepath.Dir(filepath.Join(golden, name)), 0o755)
					os.WriteFile(filepath.Join(golden, name), []byte(content), 0o644)
				}
			}
			if diff := cmp.Diff(readTree(t, golden, ""), got); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
			override, _ := os.ReadFile("kestra-tls/compose.kestra-tls.yaml")
			envFile, _ := os.ReadFile("kestra-tls/certs/compose.env")
			// The random store password is ours: a short value of .env ("2g") may occur in it by chance.
			password, _ := os.ReadFile("kestra-tls/certs/store-password")
			envFile = bytes.ReplaceAll(envFile, bytes.TrimSpace(password), nil)
			for _, value := range tc.fromEnv {
				if strings.Contains(string(override), value) || strings.Contains(string(envFile), value) {
					t.Errorf("%q, a value from .env or --env-file, is written into our files", value)
				}
			}
			if tc.keptPort != "" && !strings.Contains(string(override), tc.keptPort) {
				t.Errorf("the user's port %s is not kept as written:\n%s", tc.keptPort, override)
			}

			service := dockerComposeService(t, tc.service, envFlags, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml")
			checkComposePorts(t, service, tc.hostIP)
			library := effectiveService(t, project, tc.service, tc.envFiles, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml")
			if diff := cmp.Diff(environmentOf(service), environmentOf(library)); diff != "" {
				t.Errorf("docker compose and compose-go disagree on the environment (-cli +compose-go):\n%s", diff)
			}
			p, err := kestrapod.FromCompose(service)
			if err != nil {
				t.Fatalf("the service would not start: %v", err)
			}
			if _, ok := p.Env[tc.delivery]; !ok {
				t.Errorf("the configuration does not travel in %s: %v", tc.delivery, keysOf(p.Env))
			}
			for _, key := range append(tc.userKeys, "micronaut.server.ssl.enabled", "micronaut.security.csrf.enabled", "kestra.url") {
				if _, ok := p.Property(key); !ok {
					t.Errorf("Kestra does not read %s", key)
				}
			}
			for name := range p.Files {
				if strings.HasSuffix(name, ".key") || strings.HasSuffix(name, "store-password") {
					t.Errorf("%s is mounted into the container", name)
				}
			}
			if !strings.Contains(p.JVMOptions, "-Djavax.net.ssl.trustStore=/app/ssl/outbound-truststore.jks") {
				t.Errorf("JVM options %q lack the outbound store", p.JVMOptions)
			}
			if _, ok := p.Files["/app/ssl/outbound-truststore.jks"]; !ok {
				t.Error("the outbound store is not mounted")
			}
			if tc.user != "" && p.User.From != "the service's user: "+tc.user || tc.user == "" && p.User.UID == 0 {
				t.Errorf("the service runs as %s, want the fixture's user %q (empty: the image's non-root user)", p.User, tc.user)
			}
			port := checkServesTLS(t, started{kind: "Deployment", name: "kestra", container: "kestra", process: p}, filepath.Join(project, "kestra-tls"))
			if body, err := kestrapod.CallOut(t, p, "kestra.example.com", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
				t.Errorf("a task's call out as %s with the outbound store: %v\n%s", p.User, err, body)
			}
			for name, want := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "store-password": 0o600, "compose.env": 0o600, "keystore.p12": 0o644, "truststore.jks": 0o644} {
				if info, err := os.Stat(filepath.Join("kestra-tls", "certs", name)); err != nil || info.Mode().Perm() != want {
					t.Errorf("certs/%s: %v, want mode %#o", name, err, want)
				}
			}
			folders := map[string]os.FileMode{"certs": 0o700}
			if strings.Contains(string(override), "/"+overlays.ComposeStoresDir) {
				// Kestra 1.3 and later reload the stores: the folder of their copies is mounted.
				folders["certs/"+overlays.ComposeStoresDir] = 0o755
			}
			for folder, want := range folders {
				if info, err := os.Stat(filepath.Join("kestra-tls", folder)); err != nil || info.Mode().Perm() != want {
					t.Errorf("%s: %v, want mode %#o", folder, err, want)
				}
			}
			if strings.Contains(string(override), strings.TrimSpace(string(password))) {
				t.Error("the store password is in the override")
			}

			// Re-running changes nothing: the same CA, the same files.
			stdout, _, err = runCmd(t, args...)
			if err != nil || !strings.Contains(stdout, "is up to date") {
				t.Errorf("a re-run rewrote files: %v\n%s", err, stdout)
			}
		})
	}
}

// TestBrokenComposeProjectsSayWhatIsWrong: a project docker compose refuses, or a service that is not there,
// is one line naming the file or the service and what to do, never a decoder's message.
func TestBrokenComposeProjectsSayWhatIsWrong(t *testing.T) {
	for name, tc := range map[string]struct {
		compose string
		extra   []string
		want    []string
	}{
		"a YAML syntax error": {
			compose: "services:\n  kestra:\n    image: [kestra/kestra\n",
			want:    []string{"--compose-file docker-compose.yml", "docker-compose.yml", "fix the file"},
		},
		"a service that is not there": {
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n",
			extra:   []string{"--service", "orchestrator"},
			want:    []string{`no service "orchestrator" (--service)`, "it has kestra"},
		},
		"an include that is missing": {
			compose: "include:\n  - postgres.yml\nservices:\n  kestra:\n    image: kestra/kestra:latest\n",
			want:    []string{"--compose-file docker-compose.yml", "postgres.yml"},
		},
		"a port whose variable is not set": {
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    ports: [\"${NOT_SET_PORT:?set NOT_SET_PORT in .env}:8080\"]\n",
			want:    []string{"--compose-file docker-compose.yml", "NOT_SET_PORT"},
		},
		"an --env-file that does not exist": {
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n",
			extra:   []string{"--env-file", "prod.env"},
			want:    []string{"prod.env"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			os.WriteFile("docker-compose.yml", []byte(tc.compose), 0o644)
			_, _, err := runCmd(t, append([]string{"generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--host", "kestra.example.com", "-o", "kestra-tls"}, tc.extra...)...)
			if err == nil {
				t.Fatal("generate accepted it")
			}
			message := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(message, want) {
					t.Errorf("the error does not say %q: %s", want, message)
				}
			}
			if strings.Contains(message, "decoding failed") || strings.Count(strings.TrimSpace(message), "\n") > 0 {
				t.Errorf("not one clear line: %s", message)
			}
			if _, statErr := os.Stat("kestra-tls"); statErr == nil {
				t.Error("kestra-tls/ was written for a project generate refused")
			}
		})
	}
}

// dockerComposeService runs the real `docker-compose config` on the files and returns the effective service
// it prints (every profile on): what docker compose itself would run.
func dockerComposeService(t *testing.T, service string, envFlags []string, files ...string) types.ServiceConfig {
	t.Helper()
	args := append([]string{}, envFlags...)
	for _, file := range files {
		args = append(args, "-f", file)
	}
	args = append(args, "--profile", "*", "config", "--format", "json")
	out, err := exec.Command(testutil.DockerCompose(t), args...).Output()
	if err != nil {
		var stderr string
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("docker compose refuses the pair: %v\n%s", err, stderr)
	}
	var project types.Project
	if err := json.Unmarshal(out, &project); err != nil {
		t.Fatalf("docker compose config --format json: %v", err)
	}
	s, ok := project.Services[service]
	if !ok {
		t.Fatalf("docker compose sees no service %s", service)
	}
	// config prints a Compose file, in which a literal $ is written $$: the container gets one.
	for key, value := range s.Environment {
		if value != nil {
			unescaped := strings.ReplaceAll(*value, "$$", "$")
			s.Environment[key] = &unescaped
		}
	}
	return s
}

func environmentOf(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for key, value := range s.Environment {
		if value != nil {
			env[key] = *value
		}
	}
	return env
}

// effectiveService loads the project from the files with compose-go, as generate does (every profile on).
func effectiveService(t *testing.T, dir, service string, envFiles []string, files ...string) types.ServiceConfig {
	t.Helper()
	var paths, envPaths []string
	for _, file := range files {
		paths = append(paths, filepath.Join(dir, file))
	}
	for _, file := range envFiles {
		envPaths = append(envPaths, filepath.Join(dir, file))
	}
	options, err := cli.NewProjectOptions(paths, cli.WithWorkingDirectory(dir), cli.WithOsEnv, cli.WithEnvFiles(envPaths...), cli.WithDotEnv, cli.WithProfiles([]string{"*"}), cli.WithName("test"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go refuses the pair: %v", err)
	}
	return project.Services[service]
}

func checkComposePorts(t *testing.T, service types.ServiceConfig, hostIP string) {
	t.Helper()
	var published []uint32
	for _, p := range service.Ports {
		published = append(published, p.Target)
		if p.Target == 8443 && p.HostIP != hostIP {
			t.Errorf("8443 is published on %q, want %q as Kestra's UI was: %+v", p.HostIP, hostIP, p)
		}
	}
	if !slices.Contains(published, 8443) || slices.Contains(published, 8080) {
		t.Errorf("container ports published: %v, want 8443 and not 8080", published)
	}
}

func keysOf(m map[string]string) []string {
	var keys []string
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// TestComposeLoaderWarningsAreOurs: what compose-go notices while reading the project (an unset variable)
// is one of generate's warnings, and nothing reaches the terminal as a library's log line.
func TestComposeLoaderWarningsAreOurs(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("docker-compose.yml", []byte("services:\n  kestra:\n    image: kestra/kestra:latest\n    ports: [\"${OTHER}9090:9090\", \"8080:8080\"]\n"), 0o644)
	var logged bytes.Buffer
	logrus.SetOutput(&logged)
	defer logrus.SetOutput(os.Stderr)
	_, stderr, err := runCmd(t, "generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--host", "kestra.example.com", "-o", "kestra-tls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, `Warning: docker compose: The "OTHER" variable is not set. Defaulting to a blank string.`) {
		t.Errorf("the unset variable is not among generate's warnings:\n%s", stderr)
	}
	if logged.Len() > 0 {
		t.Errorf("compose-go logged through logrus: %s", logged.String())
	}
	override, _ := os.ReadFile("kestra-tls/compose.kestra-tls.yaml")
	if !strings.Contains(string(override), `"${OTHER}9090:9090"`) {
		t.Errorf("the user's port is not kept as written:\n%s", override)
	}
}
