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
