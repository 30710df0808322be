import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.*;

/**
 * Serves HTTPS the way Micronaut's server does from micronaut.server.ssl: a PKCS12 keyStore, a JKS
 * trustStore, clientAuthentication "want". Prints "LISTENING <port>" and answers every request with
 * "kestra-tls-ok" until stdin closes, so the test that started it always stops it.
 *
 * Usage: TLSServer KEYSTORE KEYSTORE_TYPE TRUSTSTORE TRUSTSTORE_TYPE PASSWORD_FILE|env:VARIABLE
 */
public class TLSServer {
    public static void main(String[] args) throws Exception {
        // env:NAME: the password from the environment, as Kestra's container gets it from its Secret.
        char[] password = (args[4].startsWith("env:") ? System.getenv(args[4].substring(4))
                : new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get(args[4])), StandardCharsets.UTF_8)).toCharArray();
        KeyStore keyStore = KeyStore.getInstance(args[1]);
        try (InputStream in = new FileInputStream(args[0])) { keyStore.load(in, password); }
        KeyStore trustStore = null; // none configured: the JDK's default trust, as Micronaut without a trust-store
        if (!args[2].isEmpty()) {
            trustStore = KeyStore.getInstance(args[3]);
            try (InputStream in = new FileInputStream(args[2])) { trustStore.load(in, password); }
        }

        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore, password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

        SSLServerSocket server = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server.setWantClientAuth(true);
        System.out.println("LISTENING " + server.getLocalPort());
        System.out.flush();

        Thread watchdog = new Thread(() -> {
            try { while (System.in.read() != -1) { } } catch (IOException ignored) { }
            System.exit(0);
        });
        watchdog.setDaemon(true);
        watchdog.start();

        while (true) {
            Socket socket = server.accept();
            new Thread(() -> serve(socket)).start();
        }
    }

    private static void serve(Socket socket) {
        try (Socket s = socket) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            String line;
            while ((line = reader.readLine()) != null && !line.isEmpty()) { }
            byte[] body = "kestra-tls-ok\n".getBytes(StandardCharsets.US_ASCII);
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
        } catch (IOException e) {
            System.err.println("connection failed: " + e);
        }
    }
}
