package buildkitmachine.tls;

import buildkitmachine.MachineException;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * A machine's mutual TLS material in one folder: a CA of its own, the server's certificate for the daemon's side,
 * and the client's in {@code client/} with the file names buildctl's {@code --tlsdir} reads (ca.pem, cert.pem,
 * key.pem). Keys are readable by their owner only.
 */
public record TlsFiles(Path folder) {
    /** The name every server certificate carries, for clients that reach the daemon by an address it lacks. */
    public static final String SERVER_NAME = "buildkitd";

    public Path ca() {
        return folder.resolve("ca.pem");
    }

    public Path caKey() {
        return folder.resolve("ca-key.pem");
    }

    public Path serverCert() {
        return folder.resolve("server.pem");
    }

    public Path serverKey() {
        return folder.resolve("server-key.pem");
    }

    /** The folder for buildctl's {@code --tlsdir}. */
    public Path clientFolder() {
        return folder.resolve("client");
    }

    public Path clientCert() {
        return clientFolder().resolve("cert.pem");
    }

    public Path clientKey() {
        return clientFolder().resolve("key.pem");
    }

    /** Whether all of it is there. */
    public boolean complete() {
        return List.of(ca(), caKey(), serverCert(), serverKey(), clientCert(), clientKey(),
                clientFolder().resolve("ca.pem")).stream().allMatch(Files::isRegularFile);
    }

    /** The buildctl flags that connect with this material. */
    public List<String> buildctlFlags() {
        return List.of("--tlsdir", clientFolder().toString(), "--tlsservername", SERVER_NAME);
    }

    /** The buildx remote driver's options for this material. */
    public String buildxDriverOptions() {
        return "cacert=" + ca() + ",cert=" + clientCert() + ",key=" + clientKey() + ",servername=" + SERVER_NAME;
    }

    /** A context that serves with the server's certificate and accepts only clients the CA signed. */
    public SSLContext serverContext() {
        return context(serverCert(), serverKey());
    }

    /** A context that connects with the client's certificate and trusts only the CA. */
    public SSLContext clientContext() {
        return context(clientCert(), clientKey());
    }

    private SSLContext context(Path certificate, Path key) {
        try {
            char[] none = new char[0];
            KeyStore identity = KeyStore.getInstance("PKCS12");
            identity.load(null, none);
            identity.setKeyEntry("identity", readKey(key), none, new X509Certificate[] {readCertificate(certificate)});
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(identity, none);
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, none);
            trusted.setCertificateEntry("ca", readCertificate(ca()));
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw MachineException.state("cannot load the TLS material in " + folder + " (" + e.getMessage()
                    + "); remove the folder and start again to make new certificates");
        }
    }

    static X509Certificate readCertificate(Path file) throws IOException, java.security.GeneralSecurityException {
        try (Reader reader = Files.newBufferedReader(file); PEMParser parser = new PEMParser(reader)) {
            Object object = parser.readObject();
            if (!(object instanceof X509CertificateHolder holder)) {
                throw new IOException(file + " holds no certificate");
            }
            return new JcaX509CertificateConverter().getCertificate(holder);
        }
    }

    static PrivateKey readKey(Path file) throws IOException {
        try (Reader reader = Files.newBufferedReader(file); PEMParser parser = new PEMParser(reader)) {
            Object object = parser.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (object instanceof PEMKeyPair pair) {
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
            if (object instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            throw new IOException(file + " holds no private key");
        }
    }
}
