import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.concurrent.Executors;
import javax.net.ssl.*;
import com.sun.net.httpserver.*;

/**
 * Stands in for Kestra's web server in a pod: "/" answers with a page titled Kestra, "/api/v1/events"
 * streams server-sent events as Kestra's live logs do (one event every INTERVAL_MS, each flushed as it is
 * written, with the time it was sent). Plain HTTP, or HTTPS from a PKCS12 keystore as micronaut.server.ssl
 * loads it. Prints "LISTENING <port>" and stops when stdin closes.
 *
 * Usage: KestraStandIn ADDRESS PORT NAME EVENTS INTERVAL_MS [KEYSTORE KEYSTORE_TYPE env:VARIABLE]
 */
public class KestraStandIn {
    public static void main(String[] args) throws Exception {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(args[0]), Integer.parseInt(args[1]));
        String name = args[2];
        int events = Integer.parseInt(args[3]);
        long interval = Long.parseLong(args[4]);
        HttpServer server;
        if (args.length > 5) {
            char[] password = System.getenv(args[7].substring(4)).toCharArray();
            KeyStore keyStore = KeyStore.getInstance(args[6]);
            try (InputStream in = new FileInputStream(args[5])) { keyStore.load(in, password); }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            HttpsServer https = HttpsServer.create(address, 50);
            https.setHttpsConfigurator(new HttpsConfigurator(context));
            server = https;
        } else {
            server = HttpServer.create(address, 50);
        }
        server.createContext("/", exchange -> {
            byte[] body = ("<!DOCTYPE html><html><head><title>Kestra</title></head><body><h1 id=\"served-by\">" + name
                    + "</h1></body></html>\n").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) { out.write(body); }
        });
        server.createContext("/api/v1/events", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.getResponseHeaders().set("Cache-Control", "no-cache");
            exchange.sendResponseHeaders(200, 0); // chunked: the length is not known
            try (OutputStream out = exchange.getResponseBody()) {
                for (int i = 0; i < events; i++) {
                    if (i > 0) Thread.sleep(interval);
                    out.write(("id: " + i + "\ndata: " + System.currentTimeMillis() + "\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        System.out.println("LISTENING " + server.getAddress().getPort());
        System.out.flush();
        while (System.in.read() != -1) { }
        server.stop(0);
        System.exit(0);
    }
}
