package cli

import (
	"os"
	"strings"
	"testing"
)

// TestComposeKeepsWhatTheUserHad generates over Compose projects whose Kestra the old code exposed wider,
// configured wrongly or started wrongly, and has the real docker compose read the result: HTTPS is published
// no wider than Kestra's UI was, the configuration of an env_file reaches Kestra or is refused by name,
// a service that is not Kestra's image is warned of, and the start command names the service's profile.
func TestComposeKeepsWhatTheUserHad(t *testing.T) {
	cases := []struct {
		name    string
		compose string
		files   map[string]string
		// check looks at generate's output and at the service as docker compose reads the pair.
		check func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string)
		// refused, when set, is what generate's error must say instead.
		refused []string
	}{
		{
			name:    "a UI published on 127.0.0.1:18080 gets HTTPS on 127.0.0.1 only",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    ports: [\"127.0.0.1:18080:8080\", \"127.0.0.1:8081:8081\"]\n",
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				if ip, ok := ports[8443]; !ok || ip != "127.0.0.1" {
					t.Errorf("8443 published on %q (published: %v), want 127.0.0.1 only", ip, ports)
				}
				if ip, ok := ports[8081]; !ok || ip != "127.0.0.1" {
					t.Errorf("the user's 8081 on 127.0.0.1 is not kept: %v", ports)
				}
				if _, ok := ports[8080]; ok {
					t.Errorf("plain HTTP still published: %v", ports)
				}
			},
		},
		{
			name:    "a UI published on [::1] gets HTTPS on [::1]",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    ports:\n      - {target: 8080, published: \"8080\", host_ip: \"::1\"}\n",
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				if ip := ports[8443]; ip != "::1" {
					t.Errorf("8443 published on %q, want ::1: %v", ip, ports)
				}
			},
		},
		{
			name:    "a Kestra published on no port is not published for HTTPS either",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n",
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				if len(ports) != 0 {
					t.Errorf("published %v for a Kestra the user published nowhere", ports)
				}
				if !strings.Contains(stderr, "publishes no port for Kestra's UI") {
					t.Errorf("no word of it:\n%s", stderr)
				}
			},
		},
		{
			name:    "KESTRA_CONFIGURATION from an env_file is refused, naming the file",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    env_file: [kestra.env]\n    ports: [\"8080:8080\"]\n",
			files:   map[string]string{"kestra.env": "KESTRA_CONFIGURATION='datasources:\n  postgres:\n    url: jdbc:postgresql://db/kestra\n'\n"},
			refused: []string{"KESTRA_CONFIGURATION from its env_file", "kestra.env", "environment:"},
		},
		{
			name:    "MICRONAUT_CONFIG_FILES from an env_file keeps its files, ours last, and no KESTRA_CONFIGURATION",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    env_file: [kestra.env]\n    ports: [\"8080:8080\"]\n    volumes: [\"./application.yml:/app/confs/application.yml:ro\"]\n",
			files:   map[string]string{"kestra.env": "MICRONAUT_CONFIG_FILES=/app/confs/application.yml\n", "application.yml": "datasources: {}\n"},
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				files := env["MICRONAUT_CONFIG_FILES"]
				if !strings.HasPrefix(files, "/app/confs/application.yml,") || !strings.HasSuffix(files, "kestra-tls.yml") {
					t.Errorf("MICRONAUT_CONFIG_FILES = %q, want the user's file, then ours", files)
				}
				if _, ok := env["KESTRA_CONFIGURATION"]; ok {
					t.Error("KESTRA_CONFIGURATION was added: Kestra's launcher would drop the listed files")
				}
				if !strings.Contains(stderr, "re-run generate after you change it there") {
					t.Errorf("no word of the copied list:\n%s", stderr)
				}
			},
		},
		{
			name:    "a service named kestra that runs nginx is warned of",
			compose: "services:\n  kestra:\n    image: nginx:latest\n    ports: [\"8080:8080\"]\n",
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				if !strings.Contains(stderr, "Warning: service kestra runs nginx:latest, not Kestra's image") {
					t.Errorf("no warning:\n%s", stderr)
				}
			},
		},
		{
			name:    "a Kestra only in profile tls is started with --profile tls",
			compose: "services:\n  kestra:\n    image: kestra/kestra:latest\n    profiles: [tls]\n    ports: [\"8080:8080\"]\n",
			check: func(t *testing.T, stdout, stderr string, env map[string]string, ports map[uint32]string) {
				if !strings.Contains(stdout, "docker compose --profile tls -f docker-compose.yml -f kestra-tls/compose.kestra-tls.yaml up -d") {
					t.Errorf("the start command does not name the profile:\n%s", stdout)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFiles(t, ".", map[string]string{"docker-compose.yml": c.compose})
			writeFiles(t, ".", c.files)
			stdout, stderr, err := runCmd(t, "generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--host", "kestra.example.com", "-o", "kestra-tls")
			if c.refused != nil {
				for _, want := range c.refused {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("generate: %v; want a refusal saying %q", err, want)
					}
				}
				if _, err := os.Stat("kestra-tls/compose.kestra-tls.yaml"); err == nil {
					t.Error("a refused run wrote the override")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			service := dockerComposeService(t, "kestra", nil, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml")
			env := map[string]string{}
			for key, value := range service.Environment {
				if value != nil {
					env[key] = *value
				}
			}
			ports := map[uint32]string{}
			for _, p := range service.Ports {
				ports[p.Target] = p.HostIP
			}
			c.check(t, stdout, stderr, env, ports)
		})
	}
}
