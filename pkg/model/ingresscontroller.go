package model

// IngressControllers are the controllers whose settings Kestra needs we know, by the name values and
// --ingress-class use for them, and the spec.controller of their IngressClass.
var IngressControllers = map[string]string{
	"nginx":   "k8s.io/ingress-nginx",
	"traefik": "traefik.io/ingress-controller",
}

// IngressControllerOf is our name for an IngressClass's spec.controller ("" for one we do not know).
func IngressControllerOf(classController string) string {
	for name, controller := range IngressControllers {
		if controller == classController {
			return name
		}
	}
	return ""
}

// IngressControllerSettings are the annotations Kestra needs from its ingress controller: its UI streams
// logs and executions over server-sent events and WebSocket (no buffering, long timeouts, no body limit),
// and the Ingress terminates TLS on the controller's HTTPS entry point. Nil for a controller we do not know.
func IngressControllerSettings(controller string) map[string]string {
	switch controller {
	case "nginx":
		return map[string]string{
			"nginx.ingress.kubernetes.io/proxy-buffering":    "off",
			"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
			"nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
			"nginx.ingress.kubernetes.io/proxy-body-size":    "0",
			"nginx.ingress.kubernetes.io/ssl-redirect":       "true",
		}
	case "traefik":
		// Traefik streams responses as they come (it flushes server-sent events), so only its entry point.
		return map[string]string{
			"traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
			"traefik.ingress.kubernetes.io/router.tls":         "true",
		}
	}
	return nil
}

// ClientCASecret holds, as ca.crt, the CA whose client certificates the Ingress controller accepts
// (--client-auth in ingress mode); TLSOptionName is Traefik's TLS options that name it.
const (
	ClientCASecret = "kestra-tls-client-ca"
	TLSOptionName  = "kestra-tls-client-auth"
)

// ClientAuthControllers are the controllers whose client authentication kestra-tls writes.
var ClientAuthControllers = []string{"nginx", "traefik"}

// ClientAuthSettings are the annotations that make the controller ask clients for a certificate of the CA
// in Secret ClientCASecret of namespace (need: no connection without one; want: ask, let a client without
// one through, refuse one that does not verify), nil for a controller kestra-tls does not know. Both
// controllers fail closed when that Secret is missing: ingress-nginx denies the location, Traefik the
// handshake.
func ClientAuthSettings(controller, mode, namespace string) map[string]string {
	switch controller {
	case "nginx":
		// ingress-nginx passes ssl-client-verify (SUCCESS or NONE) and the subject's DN to Kestra.
		return map[string]string{
			"nginx.ingress.kubernetes.io/auth-tls-secret":        namespace + "/" + ClientCASecret,
			"nginx.ingress.kubernetes.io/auth-tls-verify-client": map[string]string{"need": "on", "want": "optional"}[mode],
		}
	case "traefik":
		// Traefik names TLS options of its Kubernetes CRD provider <namespace>-<name>@kubernetescrd.
		return map[string]string{"traefik.ingress.kubernetes.io/router.tls.options": namespace + "-" + TLSOptionName + "@kubernetescrd"}
	}
	return nil
}

// ClientAuthControllerOf is the controller whose client authentication an Ingress's annotations set up,
// "" when they set up none.
func ClientAuthControllerOf(annotations map[string]string) string {
	for _, controller := range ClientAuthControllers {
		for key := range ClientAuthSettings(controller, "need", "") {
			if _, set := annotations[key]; set {
				return controller
			}
		}
	}
	return ""
}
