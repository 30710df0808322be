package overlays

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/helmvalues"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// HelmValuesFile is the values file for the official chart that the helm target writes.
const HelmValuesFile = "helm-values.yaml"

const helmValuesHeader = `# Kestra's TLS for the official Kestra chart, written by ` + "`kubectl kestra-tls generate --target helm`" + `.
# Pass it after your own values: helm upgrade --install RELEASE CHART -f YOUR-VALUES.yaml -f %s
# Lists here (configurations.secrets, common.extraVolumes, common.extraVolumeMounts, common.extraEnv,
# ingress.hosts, ingress.tls) already hold the entries of the --chart-values given to generate, because helm
# replaces lists across -f files: regenerate after changing those lists in your values. A --set or
# --set-json of configurations.application replaces what the -f files give, ours included: keep it in a file.
`

// generateHelm renders values for the official chart, and a kustomization with only the Secrets (and
// issuer) those values refer to.
func generateHelm(opts Options, renderer *render.Renderer) (*Overlay, error) {
	v := opts.Values
	files := map[string][]byte{}
	for _, name := range v.Helm.ChartValues {
		data, err := generate.ReadInput("--chart-values", name)
		if err != nil {
			return nil, err
		}
		files[name] = data
	}
	chart, err := helmvalues.ReadChartValues(files, v.Helm.ChartValues)
	if err != nil {
		return nil, err
	}
	modelOpts := modelOptions(opts, renderer, helmvalues.ServesHTTP(chart))
	modelOpts.KestraImage = helmvalues.Image(chart)
	m, err := model.Build(modelOpts)
	if err != nil {
		return nil, err
	}
	out := &Overlay{Material: m.Material, Warnings: m.Warnings, Notes: m.Notes(), URL: m.URL, Renewal: m.Renewal}
	in := helmvalues.Input{Model: m, Chart: chart}
	data := templateData{Values: withChartsIngressClass(v.Map, chart), Kestra: kestraData{Namespace: v.Namespace}}
	data.Certs = certs(m)
	data.Renewal = m.Renewal
	data.IssuerAnnotations = issuerAnnotations(v.Values)
	data.IngressControllerAnnotations = ingressControllerAnnotations(v.Values)
	data.ServesHTTPS = v.ServesHTTPS()
	if data.ACME, err = acme(m, out); err != nil {
		return nil, err
	}
	manifests := []string{"kustomization.yaml"}
	if v.Mode == "ingress" {
		if in.Ingress, err = ingressRouting(renderer, data); err != nil {
			return nil, err
		}
		if v.Issuer.CertManager && v.Issuer.Type != "ref" {
			manifests = append(manifests, "cluster-issuer.yaml")
		}
	} else {
		// The chart's configurations.application (your values) names the datasources; ours is read after it.
		if application, ok := helmvalues.Dig(chart, "configurations", "application").(map[string]any); ok {
			if extra, verified := m.DatasourceFragment(application); len(verified) > 0 {
				m.Fragment = values.MergeMaps(m.Fragment, extra)
				for _, name := range verified {
					out.Notes = append(out.Notes, fmt.Sprintf("configurations.application: its PostgreSQL datasource %s verifies the database's certificate against the outbound bundle (sslrootcert, in %s)", name, model.ConfigFile))
				}
			}
		}
		fragment, err := m.FragmentYAML()
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fileset.File{Name: model.ConfigFile, Data: fragment, Mode: fileset.Public})
		rolling := m.CertFiles()
		if m.Renewal.Reloads {
			// Kestra re-reads renewed stores in place; only a new password (an environment variable, read at
			// start) or configuration needs new pods.
			rolling = slices.DeleteFunc(slices.Clone(rolling), func(f fileset.File) bool { return path.Base(f.Name) != generate.StorePasswordFile })
		}
		in.Checksum = checksum(rolling, fragment)
	}
	if v.Namespace != "" {
		manifests = append(manifests, "namespace.yaml")
	}
	chartValues, warnings := helmvalues.Values(in)
	out.Warnings = append(out.Warnings, warnings...)
	rendered, err := yaml.Marshal(chartValues)
	if err != nil {
		return nil, err
	}
	out.Files = append(out.Files, fileset.File{Name: HelmValuesFile, Data: append([]byte(fmt.Sprintf(helmValuesHeader, HelmValuesFile)), rendered...), Mode: fileset.Public})
	if err := out.render(renderer, manifests, data); err != nil {
		return nil, err
	}
	return out, out.addValues(v, opts.Dir)
}

// withChartsIngressClass gives the templates the user's ingress.className from their chart values where
// ours names none: the ACME solver must answer through the class that serves the Ingress.
func withChartsIngressClass(values map[string]any, chart map[string]any) map[string]any {
	theirs, _ := helmvalues.Dig(chart, "ingress", "className").(string)
	return withIngressClass(values, theirs)
}

// ingressRouting renders our own Ingress template and keeps its class and annotations, so that both
// targets route the same way (SSE-friendly proxy settings, the issuer annotation).
func ingressRouting(renderer *render.Renderer, data templateData) (helmvalues.Ingress, error) {
	data.Kestra.Service, data.Kestra.ServicePort = "kestra", kestra.ServicePort{Name: "http"}
	rendered, err := renderer.Render("ingress.yaml.tpl", data)
	if err != nil {
		return helmvalues.Ingress{}, err
	}
	var ingress struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			IngressClassName string `json:"ingressClassName"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(rendered, &ingress); err != nil {
		return helmvalues.Ingress{}, fmt.Errorf("ingress.yaml.tpl does not render to an Ingress: %v", err)
	}
	// The chart sets the Ingress's labels itself: our marker travels as an annotation instead.
	if ingress.Metadata.Annotations == nil {
		ingress.Metadata.Annotations = map[string]string{}
	}
	ingress.Metadata.Annotations[model.ManagedByAnnotation] = model.ManagedByValue
	return helmvalues.Ingress{ClassName: ingress.Spec.IngressClassName, Annotations: ingress.Metadata.Annotations}, nil
}

// checksum digests the material and our configuration, in a stable order.
func checksum(files []fileset.File, fragment []byte) string {
	sorted := append([]fileset.File{}, files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	hash := sha256.New()
	for _, file := range sorted {
		fmt.Fprintf(hash, "%s\x00%d\x00", file.Name, len(file.Data))
		hash.Write(file.Data)
	}
	hash.Write(fragment)
	return hex.EncodeToString(hash.Sum(nil))
}
