package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.cli.Cli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each bad input gets one line on stderr that names the problem, the usage exit code, an empty stdout, and no change
 * on disk. One row per input, with the reason it must be refused.
 */
class BadInputTest {
    @TempDir
    static Path scratch;

    static Path existingFile;
    static ServerSocket takenPort;

    static Stream<Arguments> rows() throws IOException {
        existingFile = Files.writeString(scratch.resolve("notes.txt"), "keep me");
        Path brokenTemplate = Files.writeString(scratch.resolve("broken.yaml"), "containerd:\n  user: [true\n");
        takenPort = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        String tooLong = scratch.resolve("s".repeat(120) + ".sock").toString();
        Path shared = Files.createDirectories(scratch.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path foreign = scratch.resolve("foreign.sock");
        try (var channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.bind(UnixDomainSocketAddress.of(foreign));
        }
        Path context = Files.createDirectories(scratch.resolve("context"));
        Files.writeString(context.resolve("Dockerfile"), "FROM scratch\n");
        String ctx = context.toString();
        return Stream.of(
                row("a build context that is not a folder", "is not a folder", "build",
                        scratch.resolve("nowhere").toString()),
                row("a Dockerfile that does not exist", "does not exist", "build", "-f", "missing.Dockerfile", ctx),
                row("a push without an image name", "--push needs an image name", "build", "--push", ctx),
                row("a build argument that is not NAME=VALUE", "is not NAME=VALUE", "build", "--build-arg", "=x", ctx),
                row("an image name with a comma", "is not an image name", "build", "-t", "a,b", ctx),
                row("two build contexts", "one context folder", "build", ctx, ctx),
                row("buildctl without arguments", "give buildctl's arguments", "buildctl"),
                row("buildctl arguments before --", "after --", "buildctl", "a", "debug"),
                row("a cache size that is no size", "is not a size", "prune", "--keep-storage", "lots"),
                row("no lines of log", "out of range", "logs", "-n", "0"),
                row("an unknown setting", "is not a setting", "config", "set", "vm.cpu", "2"),
                row("a setting with a bad value", "must be a whole number", "config", "set", "vm.cpus", "0"),
                row("a setting value that is not YAML", "is not a value", "config", "set", "emulation", "[arm64"),
                row("an architecture that cannot be emulated", "list of architectures", "config", "set",
                        "emulation", "[sparc]"),
                row("a registry with a shell word", "not a registry", "config", "set",
                        "buildkitd.insecureRegistries", "['$(reboot)']"),
                row("a bad machine name for config", "not a valid machine name", "config", "set", "-m", "a;b",
                        "vm.cpus", "2"),
                row("removing a setting that is not set", "is not set", "config", "unset", "buildkitd.debug"),
                row("shell metacharacters in the name", "not a valid machine name", "start", "a;b"),
                row("command substitution in the name", "not a valid machine name", "start", "x$(id)"),
                row("a space in the name", "not a valid machine name", "start", "my machine"),
                row("a newline in the name", "not a valid machine name", "start", "bad\nname"),
                row("a name Lima reads as a template file", "not a valid machine name", "start", "buildkit.yaml"),
                row("a name Lima reserves", "not a valid machine name", "start", "_config"),
                row("a name longer than Lima allows", "not a valid machine name", "start", "n".repeat(77)),
                row("a privileged port", "privileged", "start", "--tcp", "80"),
                row("a port past 65535", "out of range", "start", "--tcp", "65536"),
                row("a port that is no number", "no port number", "start", "--tcp", "http"),
                row("a host and no port", "no port number", "start", "--tcp", "localhost:"),
                row("binding all addresses without TLS", "anyone who can reach", "start", "--tcp", "0.0.0.0:9999"),
                row("a port already taken", "already in use", "start", "--tcp",
                        Integer.toString(takenPort.getLocalPort())),
                row("a socket path too long for the kernel", "bytes long", "start", "--unix", tooLong),
                row("a socket in a missing folder", "does not exist", "start", "--unix",
                        scratch.resolve("missing/b.sock").toString()),
                row("an existing file that is not our socket", "is not a socket of buildkit-machine's", "start",
                        "--unix", existingFile.toString()),
                row("a socket folder other users may write to", "writable by other users", "start", "--unix",
                        shared.resolve("b.sock").toString()),
                row("a socket another program made", "is not a socket of buildkit-machine's", "start", "--unix",
                        foreign.toString()),
                row("TLS without a TCP endpoint", "--tls secures a TCP endpoint", "start", "--tls"),
                row("a build host that looks like an ssh option", "is not [USER@]HOST", "start", "--host",
                        "-oProxyCommand=sh"),
                row("a build host with a shell word", "is not [USER@]HOST", "start", "--host", "me@$(reboot)"),
                row("an identity without a build host", "need --host", "start", "--identity", "/k"),
                row("an unknown driver", "is not one of", "start", "--driver", "docker"),
                row("a build host for the Lima driver", "for the ssh driver", "start", "--driver", "lima", "--host",
                        "me@example"),
                row("zero CPUs", "more than 0", "start", "--cpus", "0"),
                row("negative memory", "more than 0", "start", "--memory", "-1"),
                row("CPUs that are no number", "--cpus", "start", "--cpus", "many"),
                row("an unknown architecture", "is not one of", "start", "--arch", "sparc"),
                row("an unknown VM type", "is not one of", "start", "--vm-type", "hyperv"),
                row("a duration without a number", "is not a duration", "start", "--timeout", "soon"),
                row("an unknown flag", "Unknown option", "start", "--bogus"),
                row("an unknown command", "Unmatched argument", "frobnicate"),
                row("a broken template, with line and column", "broken.yaml:", "start", "--template",
                        brokenTemplate.toString()),
                row("a missing template file", "cannot read template", "start", "--template",
                        scratch.resolve("absent.yaml").toString()),
                row("a bad name for delete", "not a valid machine name", "delete", "a;b"),
                row("a bad name for status", "not a valid machine name", "status", "$(reboot)"),
                row("two names for ssh", "one machine name", "ssh", "a", "b"));
    }

    private static Arguments row(String reason, String says, String... args) {
        return Arguments.of(reason, says, List.of(args));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void isRefusedWithOneLineAndNoChange(String reason, String says, List<String> args) throws IOException {
        Path home = scratch.resolve("home-" + Math.abs(reason.hashCode()));
        Map<String, String> env = Map.of("PATH", scratch.resolve("empty-bin").toString(), "HOME", home.toString(),
                "BUILDKIT_MACHINE_HOME", home.resolve("state").toString());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int code = new Cli(env, scratch).run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));

        assertThat(code).as("exit code").isEqualTo(2);
        assertThat(out.toString()).as("stdout").isEmpty();
        List<String> lines = new ArrayList<>(err.toString().lines().toList());
        assertThat(lines).as("stderr").hasSize(1);
        assertThat(lines.get(0)).startsWith("buildkit-machine: error: ").contains(says);
        assertThat(home).as("nothing created").doesNotExist();
        assertThat(Files.readString(existingFile)).isEqualTo("keep me");
        assertThat(scratch.resolve("foreign.sock")).as("a socket that is not ours is never deleted").exists();
    }
}
