package io.kestra.tlsground;

import io.micronaut.context.annotation.Value;
import io.micronaut.context.env.Environment;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.server.util.HttpHostResolver;
import io.micronaut.http.sse.Event;
import java.time.Duration;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/**
 * What the tests load on Kestra's UI and API listener: a page, and a server-sent event stream as Kestra's
 * executions and logs follow, each event the moment it was sent. A test that runs several servers tells them apart by TLSGROUND_NAME (the
 * property tlsground.name), and paces the stream with TLSGROUND_EVENTS and TLSGROUND_INTERVAL.
 */
@Controller
public class UiController {
    private final String name;
    private final int events;
    private final Duration interval;
    private final HttpHostResolver hosts;
    private final Environment environment;

    public UiController(@Value("${tlsground.name:kestra-tls-ok}") String name, @Value("${tlsground.events:5}") int events,
                        @Value("${tlsground.interval:50ms}") Duration interval, HttpHostResolver hosts, Environment environment) {
        this.name = name;
        this.events = events;
        this.interval = interval;
        this.hosts = hosts;
        this.environment = environment;
    }

    /**
     * A property as Micronaut resolved it from every source Kestra's launcher hands over (configuration files,
     * KESTRA_CONFIGURATION, the environment): what Kestra's own beans bind, for settings only Kestra acts on
     * (kestra.webserver.*). Empty when unset.
     */
    @Get(uri = "/api/v1/property", produces = MediaType.TEXT_PLAIN)
    public String property(@QueryValue String name) {
        return environment.getProperty(name, String.class).orElse("");
    }

    /** The base URL Micronaut resolves for the request, as Kestra builds its own URLs (SSO redirect URIs) from it. */
    @Get(uri = "/api/v1/host", produces = MediaType.TEXT_PLAIN)
    public String host(HttpRequest<?> request) {
        return hosts.resolve(request);
    }

    /**
     * The subject of the client certificate the TLS handshake verified (micronaut.server.ssl.clientAuthentication),
     * "none" without one: which client the server believes it talks to, as Kestra would read it.
     */
    @Get(uri = "/api/v1/client", produces = MediaType.TEXT_PLAIN)
    public String client(HttpRequest<?> request) {
        return request.getCertificate()
            .map(certificate -> ((java.security.cert.X509Certificate) certificate).getSubjectX500Principal().getName())
            .orElse("none");
    }

    /** What the tests' clients (curl, the JVM's, OpenSSL, a proxy) check they reached. */
    @Get(uri = "/", produces = MediaType.TEXT_HTML)
    public String root() {
        return "<!doctype html><title>Kestra</title><p>" + name + "</p>\n";
    }

    @Get(uri = "/ui/", produces = MediaType.TEXT_HTML)
    public String page(HttpRequest<?> request) {
        return "<!doctype html><title>Kestra</title><h1>Kestra over " + (request.isSecure() ? "https" : "http") + "</h1><p>" + name + "</p>";
    }

    @Get(uri = "/api/v1/events", produces = MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<String>> events() {
        // Each event carries the moment it was sent (epoch milliseconds): a test tells a proxy that buffers.
        return Flux.interval(interval).take(events).map(i -> Event.of(String.valueOf(System.currentTimeMillis())));
    }
}
