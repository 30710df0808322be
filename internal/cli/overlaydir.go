package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// The day-two verbs work on an overlay folder generate wrote and apply applied: they re-run generate there,
// with the folder's own values and only the sets they need, then apply it.

// checkOverlayDir says plainly when DIR is not such a folder.
func checkOverlayDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, overlays.ValuesFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is not an overlay folder made by generate (no %s): give the folder you generated and applied", dir, overlays.ValuesFile)
		}
		return fmt.Errorf("%s: %v", dir, err)
	}
	return nil
}

// regenerateOptions are generate's options for a re-run in dir with sets on top of its values.
func regenerateOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, dir string, sets ...string) (*GenerateOptions, error) {
	g := NewGenerateOptions(configFlags, streams)
	scratch := &cobra.Command{}
	g.AddFlags(scratch) // registering the flags resets the fields to their defaults: set them after
	g.OutputDir, g.Sets = dir, sets
	if err := g.Complete(scratch); err != nil {
		return nil, err
	}
	return g, g.Validate()
}

// certificatesOfOverlay are the cert-manager Certificates the overlay in dir makes, as built now.
func certificatesOfOverlay(dir, namespace string) ([]apply.CertificateRef, error) {
	built, err := overlays.Build(dir)
	if err != nil {
		return nil, err
	}
	manifests, err := built.AsYaml()
	if err != nil {
		return nil, err
	}
	objects, err := apply.Decode(manifests)
	if err != nil {
		return nil, err
	}
	// Our CA made by cert-manager (--gitops) is renewed on its own schedule, never with Kestra's certificate.
	objects = slices.DeleteFunc(objects, func(object *unstructured.Unstructured) bool {
		isCA, _, _ := unstructured.NestedBool(object.Object, "spec", "isCA")
		return object.GetKind() == "Certificate" && isCA
	})
	return apply.CertificatesIn(objects, namespace), nil
}

// applyRegenerated generates dir with g and applies it, as `apply DIR` with generate's flags does.
func applyRegenerated(ctx context.Context, configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, g *GenerateOptions, namespace string, timeout time.Duration) error {
	a := NewApplyOptions(configFlags, streams)
	a.Generate, a.Dir, a.generateFirst, a.namespace, a.Timeout = g, g.OutputDir, true, namespace, timeout
	// An overlay for git is applied by Argo CD or Flux, whose field manager owns its fields: a step of ours
	// changes them as the commit that follows will, as Flux's own server-side apply forces.
	a.ForceConflicts = g.resolved.GitOps
	return a.Run(ctx)
}

// overlayValues are the values an earlier generate left in dir, zero when it left none.
func overlayValues(dir string) values.Values {
	var v values.Values
	data, _ := os.ReadFile(filepath.Join(dir, overlays.ValuesFile))
	data, _ = overlays.EarlierRunValues(dir, data)
	_ = yaml.Unmarshal(data, &v)
	return v
}
