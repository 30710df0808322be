package io.kestra.tlsground;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.sse.Event;
import java.time.Duration;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/** What the tests load on Kestra's UI and API listener: a page, and a server-sent event stream as Kestra's executions follow. */
@Controller
public class UiController {
    /** What the tests' clients (curl, the JVM's, OpenSSL) check they reached. */
    @Get(uri = "/", produces = MediaType.TEXT_PLAIN)
    public String root() {
        return "kestra-tls-ok\n";
    }

    @Get(uri = "/ui/", produces = MediaType.TEXT_HTML)
    public String page(HttpRequest<?> request) {
        return "<!doctype html><title>Kestra</title><h1>Kestra over " + (request.isSecure() ? "https" : "http") + "</h1>";
    }

    @Get(uri = "/api/v1/events", produces = MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<String>> events() {
        return Flux.interval(Duration.ofMillis(50)).take(5).map(i -> Event.of("event " + i));
    }
}
