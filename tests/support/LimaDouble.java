package support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A fresh LIMA_HOME wired to the limactl test double ({@code tests/doubles/limactl}) and a {@link TestSshd}
 * guest. {@link #env()} is what a process under test needs to find the double as {@code limactl} on PATH;
 * {@link #run(String...)} runs the double directly, for tests of the double's own contract.
 *
 * <p>{@link #close()} force-stops every instance (ending the guest boot processes, the ssh master and the VM
 * stand-in) and removes LIMA_HOME. Close it before the TestSshd it uses.
 */
public final class LimaDouble implements AutoCloseable {
    /** What one run of the double gave. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** Non-empty stderr lines. */
        public List<String> stderrLines() {
            return stderr.lines().filter(l -> !l.isBlank()).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(90);

    private final TestSshd sshd;
    private final Path limaHome;
    private final Path guestLogDir;
    private final Map<String, String> env;

    /**
     * @param sshd the guest
     * @param bootScript executable in the guest that {@code limactl start} runs detached (e.g. a fake
     *     buildkitd), or null for none; write it with {@link TestSshd#guestFile} so the guest can run it
     */
    public LimaDouble(TestSshd sshd, Path bootScript) {
        this.sshd = sshd;
        try {
            // Short, under /tmp: ControlPath "<dir>/ssh.sock" plus ssh's temporary suffix must fit a socket path.
            this.limaHome = Files.createTempDirectory(Path.of("/tmp"), "bkml");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.guestLogDir = sshd.guestSubdir("lima-logs-" + limaHome.getFileName());
        Map<String, String> m = new LinkedHashMap<>();
        m.put("PATH", doublesDir() + File.pathSeparator + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        m.put("LIMA_HOME", limaHome.toString());
        m.put("LIMACTL_DOUBLE_GUEST", sshd.destination());
        m.put("LIMACTL_DOUBLE_KEY", sshd.clientKey().toString());
        m.put("LIMACTL_DOUBLE_GUEST_LOGDIR", guestLogDir.toString());
        if (bootScript != null) {
            m.put("LIMACTL_DOUBLE_BOOT", bootScript.toString());
        }
        this.env = Map.copyOf(m);
    }

    /** The repository: system property {@code bkm.repo}, else the nearest folder up with the main script. */
    public static Path repoDir() {
        String configured = System.getProperty("bkm.repo");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        Path start = Path.of("").toAbsolutePath();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("buildkit-machine.java"))
                    || Files.isDirectory(p.resolve("tests/doubles"))) {
                return p;
            }
        }
        throw new IllegalStateException("no buildkit-machine repository above " + start
                + "; run from the repository or pass -Dbkm.repo=DIR");
    }

    /** {@code tests/doubles} of the repository. */
    public static Path doublesDir() {
        return repoDir().resolve("tests/doubles");
    }

    /** The double itself. */
    public static Path limactl() {
        return doublesDir().resolve("limactl");
    }

    /** Environment for processes that should use the double: PATH (doubles first), LIMA_HOME, LIMACTL_DOUBLE_*. */
    public Map<String, String> env() {
        return env;
    }

    public Path limaHome() {
        return limaHome;
    }

    public TestSshd sshd() {
        return sshd;
    }

    public Path instanceDir(String name) {
        return limaHome.resolve(name);
    }

    public Path sshConfig(String name) {
        return instanceDir(name).resolve("ssh.config");
    }

    /** The guest folder with the boot logs ({@code NAME.boot.log}). */
    public Path guestLogDir() {
        return guestLogDir;
    }

    public Path bootLog(String name) {
        return guestLogDir.resolve(name + ".boot.log");
    }

    /** Every call of the double so far, one argv per line (arguments quoted as bash's printf %q does). */
    public List<String> calls() {
        Path log = limaHome.resolve("_double/calls.log");
        try {
            return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs the double with {@link #env()}, no stdin, the default timeout. */
    public Result run(String... args) {
        return run(null, DEFAULT_TIMEOUT, args);
    }

    /** Runs the double with the given stdin (null for none). */
    public Result runWithStdin(String stdin, String... args) {
        return run(stdin, DEFAULT_TIMEOUT, args);
    }

    /**
     * Runs the double. Output goes through files, not pipes, so a detached process that kept a descriptor can
     * never make the call hang.
     */
    public Result run(String stdin, Duration timeout, String... args) {
        Path io = null;
        try {
            io = Files.createTempDirectory("bkm-limactl-run");
            List<String> command = new ArrayList<>();
            command.add(limactl().toString());
            command.addAll(Arrays.asList(args));
            ProcessBuilder pb = new ProcessBuilder(command).directory(repoDir().toFile());
            pb.environment().putAll(env);
            Path out = io.resolve("stdout");
            Path err = io.resolve("stderr");
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            if (stdin != null) {
                Path in = io.resolve("stdin");
                Files.writeString(in, stdin, StandardCharsets.UTF_8);
                pb.redirectInput(in.toFile());
            } else {
                pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException("limactl " + String.join(" ", args) + " did not finish within "
                        + timeout + "\n" + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: limactl " + String.join(" ", args), e);
        } finally {
            TestSshd.deleteTree(io);
        }
    }

    /** Force-stops every instance, then removes LIMA_HOME and the guest log folder. */
    @Override
    public void close() {
        if (Files.isDirectory(limaHome)) {
            try (Stream<Path> dirs = Files.list(limaHome)) {
                for (Path d : dirs.filter(Files::isDirectory).toList()) {
                    String name = d.getFileName().toString();
                    if (!name.startsWith("_") && Files.exists(d.resolve("lima.yaml"))) {
                        run(null, Duration.ofSeconds(60), "stop", "-f", name);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        TestSshd.deleteTree(limaHome);
        TestSshd.deleteTree(guestLogDir);
    }
}
