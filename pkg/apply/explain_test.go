package apply

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestOnlyRBACRefusalsGetTheRBACHint: the API server answers Forbidden for a terminating namespace, a
// quota and an admission webhook too; each gets its own words, and only an RBAC refusal the RBAC hint.
func TestOnlyRBACRefusalsGetTheRBACHint(t *testing.T) {
	secrets := schema.GroupResource{Resource: "secrets"}
	terminating := apierrors.NewForbidden(secrets, "kestra-ssl", errors.New("unable to create new content in namespace kestra because it is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	for name, tc := range map[string]struct {
		err        error
		want, deny string
	}{
		"an RBAC rule": {
			apierrors.NewForbidden(secrets, "kestra-ssl", errors.New(`User "dev" cannot patch resource "secrets" in API group "" in the namespace "kestra"`)),
			"your user may not patch secrets", "",
		},
		"a namespace being deleted": {terminating, "its namespace is being deleted (Terminating)", "may not"},
		"a quota": {
			apierrors.NewForbidden(secrets, "kestra-ssl", errors.New("exceeded quota: no-secrets, requested: secrets=1, used: secrets=0, limited: secrets=0")),
			"a ResourceQuota of the namespace refuses it", "may not",
		},
		"an admission webhook": {
			apierrors.NewForbidden(secrets, "kestra-ssl", errors.New(`admission webhook "validate.kyverno.svc" denied the request: no plain Secrets`)),
			"an admission webhook refused it", "may not",
		},
		"another refusal": {
			apierrors.NewForbidden(secrets, "kestra-ssl", errors.New("pods with privileged containers are forbidden")),
			"forbidden, but not by an RBAC rule", "may not",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := (&Applier{}).explain(tc.err, "applying Secret kestra/kestra-ssl", nil).Error()
			if !strings.Contains(got, tc.want) || (tc.deny != "" && strings.Contains(got, tc.deny)) {
				t.Errorf("explain = %q, want %q and no %q", got, tc.want, tc.deny)
			}
		})
	}
}
