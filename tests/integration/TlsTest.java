package integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildx;
import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.exec.Program;
import buildkitmachine.tls.TlsFiles;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/** Mutual TLS on the TCP endpoint: made certificates, private keys, refused strangers, for each kind of endpoint. */
class TlsTest {
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;
    int port;

    @BeforeEach
    void setUp() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmt");
        Map<String, String> env = new HashMap<>(lima.env());
        Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "");
        env.put("PATH", LimaDouble.doublesDir() + ":" + bin + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("DOCKER_CONFIG", work.resolve("docker").toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "sealed");
        }
        TestSshd.closeAll(lima, sshd);
        TestSshd.deleteTree(work);
    }

    TlsFiles tls() {
        return new TlsFiles(work.resolve("state/sealed/tls"));
    }

    @Test
    void aForwardedEndpointOnAllAddressesTakesOnlyClientsTheCaSigned() throws Exception {
        Run start = cli.run("start", "sealed", "--driver", "lima", "--tcp", "0.0.0.0:" + port, "--tls",
                "--timeout", "60s");

        assertThat(start.code()).as(start.toString()).isZero();
        List<String> lines = start.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("export BUILDKIT_HOST='tcp://0.0.0.0:" + port + "'");
        assertThat(lines.get(1)).startsWith("# buildctl --addr tcp://0.0.0.0:" + port)
                .contains("'--tlsdir' '" + tls().clientFolder() + "'", "'--tlsservername' 'buildkitd'");
        assertKeysArePrivate();
        assertThat(DaemonProbe.tcp("127.0.0.1", port).tls(tls().clientContext(), "buildkitd")
                .listWorkers(Duration.ofSeconds(3))).hasSize(1);
        assertThatThrownBy(() -> DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofSeconds(2)))
                .as("plain gRPC").isInstanceOf(IOException.class);
        assertThatThrownBy(() -> DaemonProbe.tcp("127.0.0.1", port).tls(trustOnly(), "buildkitd")
                .listWorkers(Duration.ofSeconds(2))).as("TLS without a client certificate")
                .isInstanceOf(IOException.class);
        assertThat(cli.run("status", "sealed", "--json").out()).contains("\"answers\":true");
        assertNoSecretInArgumentsOrFiles();
    }

    @Test
    void theLocalDriverGivesBuildkitdItsOwnCertificates() throws Exception {
        Run start = cli.run("start", "sealed", "--driver", "local", "--tcp", Integer.toString(port), "--tls",
                "--timeout", "60s");

        assertThat(start.code()).as(start.toString()).isZero();
        assertKeysArePrivate();
        assertThat(DaemonProbe.tcp("127.0.0.1", port).tls(tls().clientContext(), "buildkitd")
                .listWorkers(Duration.ofSeconds(3))).hasSize(1);
        assertThatThrownBy(() -> DaemonProbe.tcp("127.0.0.1", port).tls(trustOnly(), "buildkitd")
                .listWorkers(Duration.ofSeconds(2))).isInstanceOf(IOException.class);
        assertNoSecretInArgumentsOrFiles();
    }

    @Test
    void aBuildxNodeGetsTheTlsMaterial() {
        Buildx buildx;
        try {
            buildx = Buildx.find(Host.of(cli.env(), Log.silent()));
        } catch (MachineException e) {
            Assumptions.abort("docker-buildx is not installed: " + e.getMessage());
            return;
        }
        assertThat(cli.run("start", "sealed", "--driver", "lima", "--tcp", Integer.toString(port), "--tls",
                "--timeout", "60s").code())
                .isZero();

        assertThat(cli.run("buildx", "sealed", "--builder", "sealed").code()).isZero();

        Program.Result inspect = buildx.run(List.of("inspect", "--bootstrap", "sealed"));
        assertThat(inspect.exitCode()).as(inspect.stderr()).isZero();
        assertThat(inspect.stdout()).containsPattern("Status:\\s+running");
    }

    @Test
    void tlsWithoutATcpEndpointIsRefused() {
        Run start = cli.run("start", "sealed", "--driver", "lima", "--tls", "--timeout", "60s");

        assertThat(start.code()).isEqualTo(2);
        assertThat(start.err()).contains("--tls secures a TCP endpoint");
    }

    private void assertKeysArePrivate() throws IOException {
        for (Path key : List.of(tls().caKey(), tls().serverKey(), tls().clientKey())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as(key.toString())
                    .isEqualTo("rw-------");
        }
    }

    /** No process's arguments, and no state or log file, holds a private key. */
    private void assertNoSecretInArgumentsOrFiles() throws IOException {
        String key = Files.readString(tls().clientKey()).lines().filter(l -> !l.startsWith("-----"))
                .findFirst().orElseThrow();
        for (ProcessHandle process : ProcessHandle.allProcesses().toList()) {
            String arguments = process.info().commandLine().orElse("");
            assertThat(arguments).as("arguments of " + process.pid()).doesNotContain("PRIVATE KEY", key);
        }
        try (var files = Files.walk(work.resolve("state/sealed"))) {
            for (Path file : files.filter(f -> Files.isRegularFile(f) && !f.toString().endsWith(".pem")).toList()) {
                assertThat(Files.readString(file, StandardCharsets.ISO_8859_1)).as(file.toString())
                        .doesNotContain("PRIVATE KEY", key);
            }
        }
    }

    private SSLContext trustOnly() throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, new char[0]);
        trusted.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(tls().ca())));
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}
