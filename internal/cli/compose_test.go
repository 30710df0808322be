package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// composeCases are the two ways Compose users configure Kestra; each name is also its golden folder.
var composeCases = []struct {
	name, dir string
	// user is the service's `user:`; empty runs the image's own non-root user.
	user string
	// userKeys must survive in the configuration Kestra reads; userValue is one of them, by key.
	userKeys []string
	delivery string
}{
	{"compose-guide", "testdata/compose/guide", "root", []string{"datasources.postgres.url", "kestra.queue.type", "kestra.server.basic-auth.enabled"}, "KESTRA_CONFIGURATION"},
	{"compose-extends-include", "testdata/compose/extends-include", "0", []string{"datasources.postgres.url", "kestra.repository.type"}, "KESTRA_CONFIGURATION"},
	{"compose-mounted-config", "testdata/compose/mounted-config", "root", []string{"datasources.h2.url", "kestra.queue.type"}, "MICRONAUT_CONFIG_FILES"},
	{"compose-config-files", "testdata/compose/config-files", "", []string{"datasources.h2.url", "kestra.encryption.secret-key", "kestra.storage.local.base-path"}, "MICRONAUT_CONFIG_FILES"},
}

// TestComposeTarget writes the override for each Compose project, then reads the pair (the user's files and
// ours) with compose-go, the loader docker compose uses, and starts Kestra's service the way docker compose
// and Kestra's launcher would: every key of the user's configuration and of ours is there, the stores are
// mounted one by one (never the CA key), 8443 is published and 8080 no longer, the password arrives through
// the env_file only, and a JVM serves TLS from exactly what the service mounts, reached by curl by name and IP.
func TestComposeTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the JVM (-short)")
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
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "docker compose -f docker-compose.yml -f kestra-tls/compose.kestra-tls.yaml up -d") {
				t.Errorf("generate does not say how to start it:\n%s", stdout)
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

			service := effectiveService(t, project, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml")
			checkComposePorts(t, service)
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
			for name, want := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "store-password": 0o600, "keystore.p12": 0o644, "truststore.jks": 0o644} {
				if info, err := os.Stat(filepath.Join("kestra-tls", "certs", name)); err != nil || info.Mode().Perm() != want {
					t.Errorf("certs/%s: %v, want mode %#o", name, err, want)
				}
			}

			override, _ := os.ReadFile("kestra-tls/compose.kestra-tls.yaml")
			password, _ := os.ReadFile("kestra-tls/certs/store-password")
			if strings.Contains(string(override), strings.TrimSpace(string(password))) {
				t.Error("the store password is in the override")
			}
			if info, err := os.Stat("kestra-tls/certs/compose.env"); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("certs/compose.env: %v, want mode 0600", err)
			}

			// Re-running changes nothing: the same CA, the same files.
			stdout, _, err = runCmd(t, args...)
			if err != nil || !strings.Contains(stdout, "is up to date") {
				t.Errorf("a re-run rewrote files: %v\n%s", err, stdout)
			}
			dockerComposeConfig(t, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml")
		})
	}
}

// effectiveService loads the project from the files as docker compose does (every profile on).
func effectiveService(t *testing.T, dir string, files ...string) types.ServiceConfig {
	t.Helper()
	for i, file := range files {
		files[i] = filepath.Join(dir, file)
	}
	options, err := cli.NewProjectOptions(files, cli.WithWorkingDirectory(dir), cli.WithOsEnv, cli.WithEnvFiles(), cli.WithDotEnv, cli.WithProfiles([]string{"*"}), cli.WithName("test"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go refuses the pair: %v", err)
	}
	return project.Services["kestra"]
}

func checkComposePorts(t *testing.T, service types.ServiceConfig) {
	t.Helper()
	var published []uint32
	for _, p := range service.Ports {
		published = append(published, p.Target)
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

// dockerComposeConfig asks the real docker compose, when the machine has it, to read the pair.
func dockerComposeConfig(t *testing.T, files ...string) {
	t.Helper()
	var command []string
	if exec.Command("docker", "compose", "version").Run() == nil {
		command = []string{"docker", "compose"}
	} else if path, err := exec.LookPath("docker-compose"); err == nil {
		command = []string{path}
	} else {
		t.Log("docker compose is not installed here: the pair was read by compose-go alone (docker compose's own loader library)")
		return
	}
	for _, file := range files {
		command = append(command, "-f", file)
	}
	out, err := exec.Command(command[0], append(command[1:], "--profile", "*", "config", "--quiet")...).CombinedOutput()
	if err != nil {
		t.Errorf("%s refuses the pair: %v\n%s", strings.Join(command, " "), err, out)
	}
}

var _ = yaml.Marshal
