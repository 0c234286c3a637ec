package buildkitmachine.tls;

import buildkitmachine.MachineException;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes a machine's mutual TLS material with Bouncy Castle: a CA of the machine's own, a server certificate for
 * every name and address the daemon may be reached by, and a client certificate. Nothing is sent anywhere.
 */
public final class CertificateAuthority {
    private static final Duration VALIDITY = Duration.ofDays(825);
    private static final String SIGNATURE = "SHA256withECDSA";

    private CertificateAuthority() {
    }

    /** The machine's material, made now unless a complete set is there already. */
    public static TlsFiles ensure(Path folder, String bindHost) {
        TlsFiles files = new TlsFiles(folder);
        if (files.complete()) {
            return files;
        }
        try {
            create(files, bindHost);
            return files;
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw MachineException.state("cannot make TLS certificates in " + folder + ": " + e.getMessage());
        }
    }

    private static void create(TlsFiles files, String bindHost)
            throws IOException, GeneralSecurityException, OperatorCreationException {
        Files.createDirectories(files.clientFolder());
        KeyPair caKeys = newKeys();
        X500Name caName = new X500Name("CN=buildkit-machine CA");
        X509Certificate ca = sign(caName, caKeys, caName, caKeys, builder -> {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        });
        KeyPair serverKeys = newKeys();
        X509Certificate server = sign(new X500Name("CN=" + TlsFiles.SERVER_NAME), serverKeys, caName, caKeys, b -> {
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, serverNames(bindHost));
        });
        KeyPair clientKeys = newKeys();
        X509Certificate client = sign(new X500Name("CN=buildkit-machine client"), clientKeys, caName, caKeys, b ->
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth)));
        writeKey(files.caKey(), caKeys);
        writeKey(files.serverKey(), serverKeys);
        writeKey(files.clientKey(), clientKeys);
        writePublic(files.ca(), ca);
        writePublic(files.clientFolder().resolve("ca.pem"), ca);
        writePublic(files.serverCert(), server);
        writePublic(files.clientCert(), client);
    }

    private interface Extensions {
        void add(X509v3CertificateBuilder builder) throws IOException, GeneralSecurityException;
    }

    private static KeyPair newKeys() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(X500Name subject, KeyPair subjectKeys, X500Name issuer, KeyPair issuerKeys,
            Extensions extensions) throws IOException, GeneralSecurityException, OperatorCreationException {
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer,
                new BigInteger(127, new SecureRandom()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(VALIDITY)), subject, subjectKeys.getPublic());
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.subjectKeyIdentifier, false,
                utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
                utils.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
        extensions.add(builder);
        ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(issuerKeys.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    /** The fixed name, localhost, the bind host, and every address of this host's interfaces. */
    static GeneralNames serverNames(String bindHost) throws SocketException {
        Set<GeneralName> names = new LinkedHashSet<>();
        names.add(new GeneralName(GeneralName.dNSName, TlsFiles.SERVER_NAME));
        names.add(new GeneralName(GeneralName.dNSName, "localhost"));
        for (NetworkInterface network : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress address : Collections.list(network.getInetAddresses())) {
                String text = address.getHostAddress().replaceAll("%.*", "");
                names.add(new GeneralName(GeneralName.iPAddress, text));
            }
        }
        if (bindHost != null && !bindHost.isBlank() && !isWildcard(bindHost)) {
            boolean literal = bindHost.matches("[0-9.]+") || bindHost.contains(":");
            names.add(new GeneralName(literal ? GeneralName.iPAddress : GeneralName.dNSName, bindHost));
        }
        List<GeneralName> list = new ArrayList<>(names);
        return new GeneralNames(list.toArray(GeneralName[]::new));
    }

    private static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::");
    }

    /** PKCS#8, which Go's TLS stack and the JDK both read. */
    private static void writeKey(Path file, KeyPair keys) throws IOException {
        write(file, pem(new JcaPKCS8Generator(keys.getPrivate(), null).generate()), "rw-------");
    }

    private static void writePublic(Path file, X509Certificate certificate) throws IOException {
        write(file, pem(certificate), "rw-r--r--");
    }

    /** Created with its final mode, so a key is never readable by others, not even for a moment. */
    private static void write(Path file, String content, String mode) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
        Files.writeString(file, content, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static String pem(Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(object);
        }
        return text.toString();
    }
}
