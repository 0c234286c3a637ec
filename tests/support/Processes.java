package support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * What the fault and soak tests look at from outside the tool: processes found by their command line in /proc (so a
 * process the tool lost track of is still found), their open descriptors, and the CLI run as a real process of its
 * own, which signals can reach.
 */
public final class Processes {
    /** The main class of the forward keeper, as it appears on the keeper's command line. */
    public static final String KEEPER_CLASS = "buildkitmachine.machine.ForwardProcess";

    private Processes() {
    }

    /** A live process and its arguments (argv[0] first). */
    public record Proc(long pid, List<String> argv) {
        public boolean has(String argument) {
            return argv.contains(argument);
        }

        public boolean mentions(String fragment) {
            return argv.stream().anyMatch(a -> a.contains(fragment));
        }

        @Override
        public String toString() {
            return pid + " " + String.join(" ", argv);
        }
    }

    /** Every process whose arguments match; zombies and processes gone meanwhile are left out. */
    public static List<Proc> matching(Predicate<Proc> test) {
        List<Proc> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                argv(entry).map(a -> new Proc(Long.parseLong(name), a)).filter(test).ifPresent(found::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static Optional<List<String>> argv(Path procEntry) {
        try {
            byte[] raw = Files.readAllBytes(procEntry.resolve("cmdline"));
            if (raw.length == 0) {
                return Optional.empty();
            }
            String text = new String(raw, StandardCharsets.UTF_8);
            if (text.endsWith("\0")) {
                text = text.substring(0, text.length() - 1);
            }
            return Optional.of(Arrays.asList(text.split("\0", -1)));
        } catch (IOException gone) {
            return Optional.empty();
        }
    }

    /** Forward keepers of the machine whose folder this is: the folder is the keeper's last argument. */
    public static List<Proc> keepers(Path machineFolder) {
        String folder = machineFolder.toString();
        return matching(p -> p.has(KEEPER_CLASS) && p.argv().get(p.argv().size() - 1).equals(folder));
    }

    /** ssh processes forwarding a local unix socket or port: {@code -L LOCAL:...} with LOCAL as given. */
    public static List<Proc> sshForwarding(String local) {
        return matching(p -> p.argv().get(0).endsWith("ssh") && forwards(p.argv(), local));
    }

    private static boolean forwards(List<String> argv, String local) {
        for (int i = 0; i + 1 < argv.size(); i++) {
            if (argv.get(i).equals("-L") && argv.get(i + 1).startsWith(local + ":")) {
                return true;
            }
        }
        return false;
    }

    /** How many descriptors the process has open, from /proc/PID/fd. */
    public static int openFds(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        } catch (NoSuchFileException gone) {
            return -1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What each descriptor of the process points at, for failure messages about leaks. */
    public static List<String> fdTargets(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.map(fd -> {
                try {
                    return fd.getFileName() + " -> " + Files.readSymbolicLink(fd);
                } catch (IOException gone) {
                    return fd.getFileName() + " -> ?";
                }
            }).sorted().toList();
        } catch (IOException e) {
            return List.of("(unreadable: " + e.getMessage() + ")");
        }
    }

    /** Unix socket files anywhere below a folder (their mode says so, whatever their name). */
    public static List<Path> socketFiles(Path folder) {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(folder)) {
            return walk.filter(Processes::isSocket).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isSocket(Path file) {
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0140000;
        } catch (IOException gone) {
            return false;
        }
    }

    /** Sends a signal by name (INT, TERM, KILL) to one process of the test's own. */
    public static void signal(long pid, String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs a helper command of the test's own (ip, mount) and returns its exit code and output. */
    public static Result run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, out + "\n(timed out)");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    /** A helper command's exit code and combined output. */
    public record Result(int code, String out) {
    }

    /**
     * The command line as a process of its own ({@code java buildkit_machine ARGS}) with this environment and no
     * terminal; stdout and stderr go to files next to each other, so nothing blocks on a full pipe.
     */
    public static final class Cli {
        private final Process process;
        private final Path out;
        private final Path err;
        private final long launched = System.nanoTime();

        private Cli(Process process, Path out, Path err) {
            this.process = process;
            this.out = out;
            this.err = err;
        }

        public static Cli launch(Map<String, String> env, Path workingFolder, Path outputs, String... args) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-cp", System.getProperty("java.class.path"), "buildkit_machine"));
            command.addAll(List.of(args));
            try {
                Files.createDirectories(outputs);
                Path out = outputs.resolve("stdout");
                Path err = outputs.resolve("stderr");
                ProcessBuilder builder = new ProcessBuilder(command).directory(workingFolder.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(out.toFile()).redirectError(err.toFile());
                builder.environment().clear();
                builder.environment().putAll(env);
                return new Cli(builder.start(), out, err);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public long pid() {
            return process.pid();
        }

        /** Milliseconds since launch. */
        public long age() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - launched);
        }

        /** Waits for the exit; -1 when it did not exit within the limit (it is then killed). */
        public int await(long seconds) {
            try {
                if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    return -1;
                }
                return process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        public String stdout() {
            return read(out);
        }

        public String stderr() {
            return read(err);
        }

        private static String read(Path file) {
            try {
                return Files.readString(file);
            } catch (IOException e) {
                return "(" + e.getMessage() + ")";
            }
        }

        @Override
        public String toString() {
            return "PID " + pid() + "\n--- stdout\n" + stdout() + "--- stderr\n" + stderr();
        }
    }
}
