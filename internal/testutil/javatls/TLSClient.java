import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.*;

/**
 * Connects like a Kestra task's outbound HTTPS call: trust comes from -Djavax.net.ssl.trustStore (the
 * JAVA_OPTS way), and the host name is checked as HttpsURLConnection checks it. The TCP connection goes to
 * 127.0.0.1 while TLS uses HOST for SNI and verification, since no DNS answers for test names.
 *
 * A client certificate comes the JVM's way too, from -Djavax.net.ssl.keyStore (a PKCS#12 `certs --client`
 * wrote, say), which SSLContext.getDefault() presents when the server asks.
 *
 * Usage: TLSClient HOST PORT [PATH]   (prints the response body; PATH defaults to /)
 */
public class TLSClient {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String path = args.length > 2 ? args[2] : "/";
        SSLSocketFactory factory = SSLContext.getDefault().getSocketFactory();
        Socket tcp = new Socket(InetAddress.getLoopbackAddress(), port);
        SSLSocket socket = (SSLSocket) factory.createSocket(tcp, host, port, true);
        SSLParameters params = socket.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(params);
        socket.startHandshake();
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        String line;
        boolean body = false;
        while ((line = reader.readLine()) != null) {
            if (body) System.out.println(line);
            if (line.isEmpty()) body = true;
        }
        socket.close();
    }
}
