package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
)

// TestStoresOpenForTheContainersUser generates app mode over bases whose pods run Kestra as different
// users, lays the mounted files out as the kubelet does for that pod (owner root, fsGroup's group with
// group read added), and runs the JVM as exactly the user the container gets: each must open its stores
// and serve TLS, and the base's pod security must come out of the build unchanged.
func TestStoresOpenForTheContainersUser(t *testing.T) {
	for name, tc := range map[string]struct {
		podSecurity, containerSecurity string
		wantUID, wantGID               int
		wantGroups                     []int
	}{
		"no securityContext: the image's non-root user": {
			wantUID: kestrapod.KestraImageUser.UID, wantGID: kestrapod.KestraImageUser.GID,
		},
		"runAsUser 1001 with fsGroup 2000": {
			podSecurity: `{runAsUser: 1001, fsGroup: 2000}`,
			wantUID:     1001, wantGID: 0, wantGroups: []int{2000},
		},
		"runAsUser 0": {
			podSecurity: `{runAsUser: 0}`,
			wantUID:     0, wantGID: 0,
		},
		"restricted: a non-root uid and group of its own, no capabilities, read-only root": {
			podSecurity:       `{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}`,
			containerSecurity: `{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}`,
			wantUID:           65532, wantGID: 65532,
		},
	} {
		t.Run(name, func(t *testing.T) {
			base := securedBase(t, tc.podSecurity, tc.containerSecurity)
			out := filepath.Join(t.TempDir(), "overlay")
			if _, stderr, err := runCmd(t, "generate", "-o", out, "--base", base, "--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			objects := builtObjects(t, out)
			pod := dig(objects[slices.IndexFunc(objects, func(o map[string]any) bool { return o["kind"] == "Deployment" })], "spec", "template", "spec").(map[string]any)
			if diff := cmp.Diff(decodeFlow(t, tc.podSecurity), pod["securityContext"]); diff != "" {
				t.Errorf("the pod's securityContext changed (-base +built):\n%s", diff)
			}
			if diff := cmp.Diff(decodeFlow(t, tc.containerSecurity), dig(pod, "containers").([]any)[0].(map[string]any)["securityContext"]); diff != "" {
				t.Errorf("the container's securityContext changed (-base +built):\n%s", diff)
			}

			p, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
			if err != nil {
				t.Fatalf("Kestra would not start: %v", err)
			}
			if p.User.UID != tc.wantUID || p.User.GID != tc.wantGID || !slices.Equal(p.User.Groups, tc.wantGroups) {
				t.Fatalf("the container runs as %s, want uid %d gid %d groups %v", p.User, tc.wantUID, tc.wantGID, tc.wantGroups)
			}
			port := kestrapod.Serve(t, p)
			if body, err := javatls.Curl(t, filepath.Join(out, "certs", "ca.pem"), "kestra.example.com", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
				t.Errorf("curl: %v\n%s", err, body)
			}
			if body, err := kestrapod.CallOut(t, p, "kestra.example.com", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
				t.Errorf("a task's call out as %s: %v\n%s", p.User, err, body)
			}
		})
	}
}

// securedBase is the embedded minimal Kestra with the pod's and the container's securityContext set
// (flow-style YAML; empty: none).
func securedBase(t *testing.T, podSecurity, containerSecurity string) string {
	t.Helper()
	dir := embeddedBaseWith(t, nil)
	deployment := filepath.Join(dir, "deployment.yaml")
	data, _ := os.ReadFile(deployment)
	object := map[string]any{}
	if err := yaml.Unmarshal(data, &object); err != nil {
		t.Fatal(err)
	}
	pod := dig(object, "spec", "template", "spec").(map[string]any)
	if podSecurity != "" {
		pod["securityContext"] = decodeFlow(t, podSecurity)
	}
	if containerSecurity != "" {
		pod["containers"].([]any)[0].(map[string]any)["securityContext"] = decodeFlow(t, containerSecurity)
	}
	data, _ = yaml.Marshal(object)
	os.Chmod(deployment, 0o644)
	if err := os.WriteFile(deployment, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func decodeFlow(t *testing.T, text string) any {
	t.Helper()
	if text == "" {
		return nil
	}
	var out map[string]any
	if err := yaml.Unmarshal([]byte(text), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
