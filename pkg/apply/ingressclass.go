package apply

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// defaultClassAnnotation marks the IngressClass that serves Ingresses naming none.
const defaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

type ingressClass struct {
	name, controller string
	isDefault        bool
}

// settleIngressClasses checks each Ingress of ours against the cluster's IngressClasses before anything is
// written: one naming no class goes to the cluster's default class, and says which; one naming a class
// whose controller generate could not know (the default, or a name of the cluster's own) gets that
// controller's settings (model.IngressControllerSettings), where the overlay does not set them already. An
// Ingress no controller would serve is refused when the cluster has classes, and noted when it has none yet;
// one asking clients for certificates is refused when its class's controller is not the one whose settings
// ask for them.
func (a *Applier) settleIngressClasses(ctx context.Context, infos []*resource.Info, actions []action, listClasses func() ([]ingressClass, error), notes io.Writer) error {
	var classes []ingressClass
	listed := false
	for i, info := range infos {
		body := actions[i].body
		if info.Mapping.GroupVersionKind.Kind != "Ingress" || actions[i].skip || body == nil || !model.Marked(body.GetLabels(), body.GetAnnotations()) {
			continue
		}
		if !listed {
			listed = true
			var err error
			if classes, err = listClasses(); err != nil {
				if apierrors.IsForbidden(err) {
					note(notes, "cannot list IngressClasses (%v): the Ingress's class is not checked", err)
					return nil
				}
				return a.explain(err, "listing IngressClasses", nil)
			}
		}
		label := "Ingress " + qualifiedName(info.Namespace, info.Name)
		name, _, _ := unstructured.NestedString(body.Object, "spec", "ingressClassName")
		var class *ingressClass
		for j := range classes {
			if (name == "" && classes[j].isDefault) || (name != "" && classes[j].name == name) {
				class = &classes[j]
				break
			}
		}
		switch {
		case class == nil && len(classes) == 0:
			note(notes, "%s: this cluster has no IngressClass yet, so no ingress controller serves it until one is installed", label)
			continue
		case class == nil && name == "":
			return fmt.Errorf("%s names no IngressClass and none is marked default in this cluster (it has %s): generate with --ingress-class NAME, or mark one default (annotation %s: \"true\")", label, describe(classes), defaultClassAnnotation)
		case class == nil:
			note(notes, "%s: IngressClass %s does not exist in this cluster (it has %s), so no controller serves it: generate with --ingress-class NAME", label, name, describe(classes))
			continue
		case name == "":
			note(notes, "%s names no class: the cluster's default IngressClass %s serves it (controller %s)", label, class.name, class.controller)
		}
		controller := model.IngressControllerOf(class.controller)
		if mode := body.GetAnnotations()[model.ClientAuthAnnotation]; mode != "" {
			// Another controller would ignore the client authentication and let every client through.
			wanted := model.ClientAuthControllerOf(body.GetAnnotations())
			if wanted == "" {
				return fmt.Errorf("%s says %s: %s but carries no Ingress controller's client authentication settings, so clients without a certificate would reach Kestra; nothing was applied: re-run generate with --client-auth and --ingress-class nginx or traefik", label, model.ClientAuthAnnotation, mode)
			}
			if wanted != controller {
				return fmt.Errorf("%s asks clients for certificates (--client-auth %s) with %s's settings, but IngressClass %s is served by %s, which ignores them and would let clients without a certificate reach Kestra; nothing was applied: generate with --ingress-class naming a class of %s (and --set ingress.controller=%s where its name is another), or with --mode app (Kestra checks the certificates itself)", label, mode, model.IngressControllers[wanted], class.name, class.controller, model.IngressControllers[wanted], wanted)
			}
		}
		added := addMissing(body, model.IngressControllerSettings(controller))
		if len(added) > 0 {
			note(notes, "%s: added the settings Kestra needs from %s (%s)", label, class.controller, strings.Join(added, ", "))
		}
	}
	return nil
}

// hasIngress tells whether the overlay holds an Ingress, whose class settleIngressClasses checks.
func hasIngress(infos []*resource.Info) bool {
	for _, info := range infos {
		if info.Mapping.GroupVersionKind.Kind == "Ingress" {
			return true
		}
	}
	return false
}

func (a *Applier) ingressClasses(ctx context.Context) ([]ingressClass, error) {
	dyn, err := a.dynamicClient()
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(resources.IngressClasses).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var classes []ingressClass
	for _, item := range list.Items {
		controller, _, _ := unstructured.NestedString(item.Object, "spec", "controller")
		classes = append(classes, ingressClass{name: item.GetName(), controller: controller, isDefault: item.GetAnnotations()[defaultClassAnnotation] == "true"})
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i].name < classes[j].name })
	return classes, nil
}

// addMissing sets the annotations the object lacks, and names them.
func addMissing(object *unstructured.Unstructured, settings map[string]string) []string {
	annotations := object.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	var added []string
	for key, value := range settings {
		if _, set := annotations[key]; !set {
			annotations[key] = value
			added = append(added, key)
		}
	}
	sort.Strings(added)
	if len(added) > 0 {
		object.SetAnnotations(annotations)
	}
	return added
}

func describe(classes []ingressClass) string {
	var names []string
	for _, class := range classes {
		names = append(names, class.name+" ("+class.controller+")")
	}
	return strings.Join(names, ", ")
}

func note(notes io.Writer, format string, args ...any) {
	if notes != nil {
		fmt.Fprintf(notes, format+"\n", args...)
	}
}
