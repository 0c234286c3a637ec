///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES ../buildkit-machine.java
//MAIN Benchmark
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.assertj:assertj-core:3.27.7
//SOURCES support/*.java

// What the toolkit adds, measured side by side with its limits in one run: each round runs every case once, in a
// rotating order, so that a noisy machine slows all cases alike; the report gives medians and their ratios.
// Run from the repository's root:
//   scripts/jbang tests/Benchmark.java [--rounds N] [endpoint|bulk|cli|readiness|footprint|start]...

import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.exec.ClassArchive;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.opentest4j.TestAbortedException;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

class Benchmark {
    static final List<String> PARTS = List.of("endpoint", "bulk", "cli", "readiness", "footprint", "start");
    static final String SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";
    static final Path REPO = LimaDouble.repoDir();

    static int rounds = 20;
    static final List<String> report = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rounds") && i + 1 < args.length) {
                rounds = Integer.parseInt(args[++i]);
            } else if (PARTS.contains(args[i])) {
                parts.add(args[i]);
            } else {
                System.err.println("Benchmark: unknown argument '" + args[i] + "'; parts are " + PARTS);
                System.exit(2);
            }
        }
        for (String part : parts.isEmpty() ? PARTS : parts) {
            System.err.println("== " + part);
            try {
                switch (part) {
                    case "endpoint" -> endpoint();
                    case "bulk" -> bulk();
                    case "cli" -> cli();
                    case "readiness" -> readiness();
                    case "footprint" -> footprint();
                    default -> start();
                }
            } catch (TestAbortedException skipped) {
                report.add(String.format("%-10s skipped: %s", part, skipped.getMessage()));
            }
        }
        System.out.println();
        System.out.println("buildkit-machine benchmark, " + rounds + " rounds, " + machine());
        report.forEach(System.out::println);
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The parts

    /** buildctl through the unix and TCP endpoints against the daemon's own socket (real rootless buildkitd). */
    static void endpoint() throws Exception {
        try (RealGuest guest = RealGuest.start()) {
            Path context = guest.context("small", "hello\n".getBytes());
            Map<String, List<Long>> workers = new LinkedHashMap<>();
            Map<String, List<Long>> builds = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                for (String target : rotate(guest.targets(), round)) {
                    workers.computeIfAbsent(target, t -> new ArrayList<>())
                            .add(timedMicros(guest.buildctl(target, "debug", "workers")));
                    builds.computeIfAbsent(target, t -> new ArrayList<>())
                            .add(timedMicros(guest.buildctl(target, guest.build(context))));
                }
            }
            ratios("endpoint", "buildctl debug workers", workers, "≤ 1.10 × direct", 1.10);
            ratios("endpoint", "small build", builds, "≤ 1.10 × direct", 1.10);
        }
    }

    /** A 256 MiB build context sent through each endpoint, the daemon's cache emptied before each send. */
    static void bulk() throws Exception {
        try (RealGuest guest = RealGuest.start()) {
            byte[] noise = new byte[256 << 20];
            new Random(1).nextBytes(noise);
            Path context = guest.context("bulk", noise);
            Map<String, List<Long>> times = new LinkedHashMap<>();
            for (int round = 0; round < Math.max(3, rounds / 4); round++) {
                for (String target : rotate(guest.targets(), round)) {
                    run(guest.buildctl(guest.direct(), "prune", "--all"));
                    times.computeIfAbsent(target, t -> new ArrayList<>())
                            .add(timed(guest.buildctl(target, guest.build(context))));
                }
            }
            long direct = median(times.get(guest.direct()));
            for (var entry : times.entrySet()) {
                double mibPerSecond = 256_000.0 / median(entry.getValue());
                double ratio = (double) direct / median(entry.getValue());
                String label = label(entry.getKey(), guest);
                boolean endpoint = label.endsWith("endpoint");
                line("bulk", "256 MiB context, " + label, String.format(Locale.ROOT, "%.0f MiB/s", mibPerSecond),
                        ratio, endpoint ? "≥ 0.80 × direct" : "", !endpoint || ratio >= 0.80);
            }
        }
    }

    /**
     * status --json and env as installed, and through JBang, against their floors. They ask about a running machine
     * (the local driver with the fake daemon), as a script would.
     */
    static void cli() throws Exception {
        Path work = Files.createTempDirectory(Path.of("/tmp"), "bkmb");
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        env.put("PATH", FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "") + ":" + SYSTEM_PATH);
        try {
            run(tool("start", "--driver", "local", "--unix", work.resolve("c.sock").toString(), "-q"), env);
            Path hello = work.resolve("hello");
            Files.createDirectories(hello);
            Files.writeString(hello.resolve("Hello.java"), "class Hello { public static void main(String[] a) {"
                    + " System.out.println(\"hello\"); } }\n");
            run(List.of(javaHome("javac"), "-d", hello.toString(), hello.resolve("Hello.java").toString()));
            // What any picocli command costs: one option, one line printed, nothing else.
            String picocliJar = Path.of(picocli.CommandLine.class.getProtectionDomain().getCodeSource().getLocation()
                    .toURI()).toString();
            Files.writeString(hello.resolve("Tiny.java"), "@picocli.CommandLine.Command(name = \"tiny\")"
                    + " class Tiny implements Runnable { @picocli.CommandLine.Option(names = \"--json\") boolean json;"
                    + " public void run() { System.out.println(json ? \"{}\" : \"hello\"); }"
                    + " public static void main(String[] a) { System.exit(new picocli.CommandLine(new Tiny())"
                    + ".execute(a)); } }\n");
            run(List.of(javaHome("javac"), "-cp", picocliJar, "-d", hello.toString(),
                    hello.resolve("Tiny.java").toString()));
            List<String> tinyFast = tinyAsTheLauncherStartsIt(hello, picocliJar);
            Files.writeString(work.resolve("trivial.java"), "///usr/bin/env jbang \"$0\" \"$@\" ; exit $?\n"
                    + "class trivial { public static void main(String[] a) { System.out.println(\"hi\"); } }\n");
            String jbang = REPO.resolve("scripts/jbang").toString();
            String launcher = launcher();
            Map<String, List<String>> cases = new LinkedHashMap<>();
            cases.put("bare JVM, one line", List.of(javaHome("java"), "-cp", hello.toString(), "Hello"));
            cases.put("picocli, one option", List.of(javaHome("java"), "-cp", hello + ":" + picocliJar, "Tiny",
                    "--json"));
            cases.put("picocli, one option, started as the launcher starts", tinyFast);
            cases.put("installed: env", List.of(launcher, "env"));
            cases.put("installed: status --json", List.of(launcher, "status", "--json"));
            cases.put("jbang: trivial script", List.of(jbang, work.resolve("trivial.java").toString()));
            cases.put("jbang: env", List.of(jbang, REPO.resolve("buildkit-machine.java").toString(), "env"));
            cases.put("jbang: status --json", List.of(jbang, REPO.resolve("buildkit-machine.java").toString(),
                    "status", "--json"));
            Map<String, List<Long>> times = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                for (String name : rotate(new ArrayList<>(cases.keySet()), round)) {
                    times.computeIfAbsent(name, n -> new ArrayList<>()).add(timed(cases.get(name), env));
                }
            }
            long bare = median(times.get("bare JVM, one line"));
            long floor = median(times.get("jbang: trivial script"));
            long picocliAlone = median(times.get("picocli, one option"));
            line("cli", "a picocli command with one option, for reference", ms(picocliAlone),
                    (double) picocliAlone / bare, "", true);
            long picocliFast = median(times.get("picocli, one option, started as the launcher starts"));
            line("cli", "the same, started as the launcher starts the toolkit", ms(picocliFast),
                    (double) picocliFast / bare, "", true);
            for (String name : List.of("installed: env", "installed: status --json")) {
                double ratio = (double) median(times.get(name)) / bare;
                line("cli", name, ms(median(times.get(name))), ratio, "≤ 1.5 × bare JVM (" + ms(bare) + ")",
                        ratio <= 1.5);
            }
            for (String name : List.of("jbang: env", "jbang: status --json")) {
                long more = median(times.get(name)) - floor;
                line("cli", name, ms(median(times.get(name))), (double) median(times.get(name)) / floor,
                        "≤ JBang floor + 500 ms (" + ms(floor) + "), +" + ms(more), more <= 500);
            }
            run(tool("delete", "--force", "-q"), env);
        } finally {
            TestSshd.deleteTree(work);
        }
    }

    /**
     * The one-option picocli command started the way the installed launcher starts the toolkit: from a jar, with its
     * JVM options and a class data archive made the way {@code install} makes the launcher's (the JDK's class list
     * and one recorded run), which holds picocli's classes. What is left is what picocli itself costs.
     */
    static List<String> tinyAsTheLauncherStartsIt(Path hello, String picocliJar) throws Exception {
        Path jar = hello.resolve("tiny.jar");
        run(List.of(javaHome("jar"), "cf", jar.toString(), "-C", hello.toString(), "Tiny.class"));
        String classpath = jar + ":" + picocliJar;
        List<String> options = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xlog:cds=off",
                "-Xlog:cds+dynamic=off", "-Dpicocli.disable.closures=true");
        Path recorded = hello.resolve("tiny.classlist");
        List<String> record = new ArrayList<>(List.of(javaHome("java")));
        record.addAll(options);
        record.addAll(List.of("-Xshare:auto", "-XX:DumpLoadedClassList=" + recorded, "-cp", classpath, "Tiny",
                "--json"));
        run(record);
        Path archive = hello.resolve("tiny.jsa");
        Path jdkList = Path.of(System.getProperty("java.home"), "lib", "classlist");
        new ClassArchive(Path.of(javaHome("java")), classpath, archive)
                .make(Files.isRegularFile(jdkList) ? List.of(jdkList, recorded) : List.of(recorded));
        List<String> command = new ArrayList<>(List.of(javaHome("java"), "-XX:SharedArchiveFile=" + archive));
        command.addAll(options);
        command.addAll(List.of("-cp", classpath, "Tiny", "--json"));
        return command;
    }

    /** How soon start returns once a slow daemon (the fake, answering after 2 s) answers. */
    static void readiness() throws Exception {
        Path work = Files.createTempDirectory(Path.of("/tmp"), "bkmr");
        try {
            Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "--delay-ms 2000");
            Map<String, String> env = Map.of("PATH", bin + ":" + SYSTEM_PATH, "HOME", work.toString(),
                    "BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
            Path socket = work.resolve("r.sock");
            List<Long> lags = new ArrayList<>();
            for (int round = 0; round < Math.max(3, rounds / 2); round++) {
                AtomicLong firstAnswer = new AtomicLong();
                Thread watcher = new Thread(() -> watch(socket, firstAnswer));
                watcher.start();
                run(tool("start", "ready", "--driver", "local", "--unix", socket.toString(), "-q"),
                        env);
                long returned = System.nanoTime();
                watcher.join(5000);
                lags.add(TimeUnit.NANOSECONDS.toMillis(returned - firstAnswer.get()));
                run(tool("stop", "ready", "-q"), env);
            }
            run(tool("delete", "--force", "ready", "-q"), env);
            long lag = median(lags);
            line("readiness", "start returns after buildkitd answers", ms(lag) + " later", Double.NaN,
                    "≤ 250 ms", lag <= 250);
        } finally {
            TestSshd.deleteTree(work);
        }
    }

    /**
     * The resident memory of what the toolkit leaves running for one machine: its keeper and ssh. The first keeper
     * of a build makes the keepers' class data archive; the figure is that of a keeper started after it, as every
     * keeper but the first is.
     */
    static void footprint() throws Exception {
        try (FakeGuest guest = FakeGuest.start()) {
            List<String> start = List.of("start", "foot", "--driver", "lima", "--unix",
                    guest.work.resolve("f.sock").toString(), "--tcp", "127.0.0.1:" + freePort(), "-q");
            guest.tool(start.toArray(String[]::new));
            awaitKeeperArchive(guest.work.resolve("state/.class-data"));
            guest.tool("stop", "foot", "-q");
            guest.tool(start.toArray(String[]::new));
            Thread.sleep(2000);
            long keeper = Long.parseLong(Files.readString(guest.work.resolve("state/foot/forward.pid")).strip()
                    .split("\\s+")[0]);
            long kib = rssKib(keeper);
            long pss = pssKib(keeper);
            List<String> parts = new ArrayList<>(List.of("keeper " + mib(kib)));
            for (ProcessHandle child : ProcessHandle.of(keeper).orElseThrow().descendants().toList()) {
                long childKib = rssKib(child.pid());
                kib += childKib;
                pss += pssKib(child.pid());
                parts.add(child.info().command().map(c -> Path.of(c).getFileName().toString()).orElse("?") + " "
                        + mib(childKib));
            }
            line("footprint", "resident, per machine (" + String.join(", ", parts) + ")", mib(kib), Double.NaN,
                    "≤ 48 MiB; proportional " + mib(pss), kib <= 48 * 1024);
            guest.tool("delete", "--force", "foot", "-q");
        }
    }

    /** Waits for the first keeper to make the keepers' class data archive (about 20 s after it starts). */
    static void awaitKeeperArchive(Path folder) throws Exception {
        for (int i = 0; i < 600; i++) {
            try (var files = Files.list(folder)) {
                if (files.anyMatch(f -> f.getFileName().toString().matches("keeper-.*\\.jsa"))) {
                    return;
                }
            } catch (java.nio.file.NoSuchFileException notYet) {
                // The folder comes with the archive.
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no keeper archive in " + folder + " after 60 s");
    }

    /** start of a stopped machine against starting the machine itself, readiness included. */
    static void start() throws Exception {
        try (FakeGuest guest = FakeGuest.start()) {
            Path socket = guest.work.resolve("s.sock");
            guest.tool("start", "st", "--driver", "lima", "--unix", socket.toString(), "-q");
            // As for every start but a build's first: its keeper starts from the keepers' archive.
            awaitKeeperArchive(guest.work.resolve("state/.class-data"));
            guest.tool("stop", "st", "-q");
            Path guestSocket = guest.sshd.runtimeDir().resolve("buildkit-default/buildkitd.sock");
            Map<String, List<Long>> times = new LinkedHashMap<>();
            List<Long> lags = new ArrayList<>();
            for (int round = 0; round < Math.max(3, rounds / 2); round++) {
                for (String name : rotate(List.of("limactl start, daemon answers", "buildkit-machine start"), round)) {
                    long began = System.nanoTime();
                    if (name.startsWith("limactl")) {
                        guest.limactl("start", "st");
                        await(guestSocket);
                        times.computeIfAbsent(name, n -> new ArrayList<>()).add(since(began));
                        guest.limactl("stop", "st");
                    } else {
                        // When the guest's buildkitd first answers on its own socket, so that what start adds after
                        // that shows without the daemon's own start, which varies most.
                        AtomicLong firstAnswer = new AtomicLong();
                        Thread watcher = new Thread(() -> watch(guestSocket, firstAnswer));
                        watcher.start();
                        guest.tool("start", "st", "-q");
                        long returned = System.nanoTime();
                        times.computeIfAbsent(name, n -> new ArrayList<>()).add(since(began));
                        watcher.join(5000);
                        if (firstAnswer.get() != 0) {
                            lags.add(TimeUnit.NANOSECONDS.toMillis(returned - firstAnswer.get()));
                        }
                        guest.tool("stop", "st", "-q");
                    }
                }
            }
            long itself = median(times.get("limactl start, daemon answers"));
            long tool = median(times.get("buildkit-machine start"));
            line("start", "stopped Lima machine (limactl double)", ms(tool) + " vs " + ms(itself),
                    (double) tool / itself, "≤ itself + 1000 ms, +" + ms(tool - itself), tool - itself <= 1000);
            line("start", "of that, after the guest's buildkitd first answers", ms(median(lags)) + " later",
                    Double.NaN, "", true);
            guest.tool("delete", "--force", "st", "-q");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Fixtures

    /** The limactl double whose guest runs a real rootless buildkitd, with a machine offering both endpoints. */
    static final class RealGuest implements AutoCloseable {
        final TestSshd sshd;
        final LimaDouble lima;
        final Path work;
        final Path buildctl;
        final Map<String, String> env;
        final int port = freePort();
        /** buildkitd's own TCP listener in the guest: what any TCP endpoint costs, with no tool in between. */
        static final int DIRECT_TCP_PORT = freePort();

        private RealGuest(TestSshd sshd, LimaDouble lima, Path work, Path buildctl, Map<String, String> env) {
            this.sshd = sshd;
            this.lima = lima;
            this.work = work;
            this.buildctl = buildctl;
            this.env = env;
        }

        static RealGuest start() throws IOException {
            String path = System.getenv().getOrDefault("PATH", "");
            Path buildkitd = need("buildkitd", path);
            Path buildctl = need("buildctl", path);
            Path rootlesskit = need("rootlesskit", path);
            TestSshd sshd = TestSshd.start();
            if ("root".equals(sshd.user())) {
                sshd.close();
                throw new TestAbortedException("rootless buildkitd needs an ordinary guest user (bkmguest)");
            }
            LimaDouble lima = new LimaDouble(sshd, GuestBoot.rootlessBuildkitd(sshd, buildkitd, rootlesskit,
                    " --addr tcp://127.0.0.1:" + DIRECT_TCP_PORT));
            Path work = Files.createTempDirectory(Path.of("/tmp"), "bkmb");
            Map<String, String> env = new HashMap<>(lima.env());
            env.put("HOME", work.toString());
            env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
            RealGuest guest = new RealGuest(sshd, lima, work, buildctl, env);
            run(tool("start", "bench", "--driver", "lima", "--unix", guest.unix().toString(),
                    "--tcp", "127.0.0.1:" + guest.port, "--timeout", "180s", "-q"), env);
            return guest;
        }

        Path unix() {
            return work.resolve("bench.sock");
        }

        String direct() {
            return "unix://" + sshd.runtimeDir().resolve("buildkit-default/buildkitd.sock");
        }

        List<String> targets() {
            return List.of(direct(), directTcp(), "unix://" + unix(), "tcp://127.0.0.1:" + port);
        }

        String directTcp() {
            return "tcp://127.0.0.1:" + DIRECT_TCP_PORT;
        }

        Path context(String name, byte[] content) throws IOException {
            Path folder = Files.createDirectories(work.resolve(name));
            Files.write(folder.resolve("payload"), content);
            Files.writeString(folder.resolve("Dockerfile"), "FROM scratch\nCOPY payload /\n");
            return folder;
        }

        List<String> build(Path context) {
            return List.of("build", "--frontend", "dockerfile.v0", "--local", "context=" + context,
                    "--local", "dockerfile=" + context);
        }

        List<String> buildctl(String address, String... args) {
            return buildctl(address, List.of(args));
        }

        List<String> buildctl(String address, List<String> args) {
            List<String> command = new ArrayList<>(List.of(buildctl.toString(), "--addr", address));
            command.addAll(args);
            return command;
        }

        @Override
        public void close() throws Exception {
            run(tool("delete", "--force", "bench", "-q"), env);
            lima.close();
            sshd.close();
            TestSshd.deleteTree(work);
        }
    }

    static String label(String target, RealGuest guest) {
        return target.equals(guest.direct()) ? "direct socket" : target.equals(guest.directTcp()) ? "direct TCP"
                : target.startsWith("unix:") ? "unix endpoint" : "tcp endpoint";
    }

    /** The limactl double whose guest runs the fake buildkitd: for what needs no real daemon. */
    static final class FakeGuest implements AutoCloseable {
        final TestSshd sshd;
        final LimaDouble lima;
        final Path work;
        final Map<String, String> env;

        private FakeGuest(TestSshd sshd, LimaDouble lima, Path work, Map<String, String> env) {
            this.sshd = sshd;
            this.lima = lima;
            this.work = work;
            this.env = env;
        }

        static FakeGuest start() throws IOException {
            TestSshd sshd = TestSshd.start();
            LimaDouble lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
            Path work = Files.createTempDirectory(Path.of("/tmp"), "bkmb");
            Map<String, String> env = new HashMap<>(lima.env());
            env.put("PATH", LimaDouble.doublesDir() + ":" + SYSTEM_PATH);
            env.put("HOME", work.toString());
            env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
            return new FakeGuest(sshd, lima, work, env);
        }

        void tool(String... args) {
            run(Benchmark.tool(args), env);
        }

        void limactl(String... args) {
            List<String> command = new ArrayList<>(List.of(LimaDouble.limactl().toString()));
            command.addAll(List.of(args));
            run(command, env);
        }

        @Override
        public void close() throws Exception {
            lima.close();
            sshd.close();
            TestSshd.deleteTree(work);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Measuring and reporting

    /** Times in microseconds, each target against the first (the direct socket); the second is direct TCP. */
    static void ratios(String part, String what, Map<String, List<Long>> times, String goal, double limit) {
        List<String> targets = new ArrayList<>(times.keySet());
        String direct = targets.get(0);
        String directTcp = targets.get(1);
        long base = median(times.get(direct));
        long tcpBase = median(times.get(directTcp));
        line(part, what + ", direct socket", msOfMicros(base), 1.0, "", true);
        line(part, what + ", direct TCP", msOfMicros(tcpBase), (double) tcpBase / base, "", true);
        for (String target : targets.subList(2, targets.size())) {
            long median = median(times.get(target));
            double ratio = (double) median / base;
            String kind = target.startsWith("unix:") ? "unix endpoint" : "tcp endpoint";
            String tcp = kind.startsWith("tcp") ? String.format(Locale.ROOT, " (%.2f × direct TCP)",
                    (double) median / tcpBase) : "";
            line(part, what + ", " + kind, msOfMicros(median), ratio, goal + tcp, ratio <= limit);
        }
    }

    static void line(String part, String what, String value, double ratio, String goal, boolean met) {
        String shown = Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.2f", ratio);
        String verdict = goal.isEmpty() ? "" : met ? "met" : "NOT MET";
        String text = String.format(Locale.ROOT, "%-10s %-58s %14s %6s  %-7s %s", part, what, value, shown, verdict,
                goal);
        System.err.println(text);
        report.add(text);
    }

    static <T> List<T> rotate(List<T> items, int round) {
        List<T> rotated = new ArrayList<>(items);
        java.util.Collections.rotate(rotated, round % items.size());
        return rotated;
    }

    static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    static String ms(long millis) {
        return millis + " ms";
    }

    static long since(long began) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
    }

    /** In microseconds: requests of a few milliseconds would otherwise differ by whole steps of 7–9%. */
    static long timedMicros(List<String> command) {
        long began = System.nanoTime();
        run(command);
        return TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - began);
    }

    static String msOfMicros(long micros) {
        return String.format(Locale.ROOT, "%.1f ms", micros / 1000.0);
    }

    static long timed(List<String> command) {
        long began = System.nanoTime();
        run(command);
        return since(began);
    }

    /** How long a command takes that must succeed; its output is thrown away, so that printing costs no time. */
    static long timed(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        long began = System.nanoTime();
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().clear();
        builder.environment().putAll(env);
        int code = builder.start().waitFor();
        long took = since(began);
        if (code != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + code);
        }
        return took;
    }

    static String run(List<String> command) {
        return run(command, System.getenv());
    }

    static String run(List<String> command, Map<String, String> env) {
        try {
            Path output = Files.createTempFile("bkm-bench", ".log");
            try {
                ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(output.toFile());
                builder.environment().clear();
                builder.environment().putAll(env);
                int code = builder.start().waitFor();
                String text = Files.readString(output);
                if (code != 0) {
                    throw new IllegalStateException(String.join(" ", command) + " exited with " + code + ":\n"
                            + Program.tail(text, 20));
                }
                return text;
            } finally {
                Files.deleteIfExists(output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The toolkit run in a JVM of its own, from the classpath this benchmark runs with. */
    /** The tool as users run it: through the launcher that {@code install} writes. */
    static List<String> tool(String... args) {
        List<String> command = new ArrayList<>(List.of(launcher()));
        command.addAll(List.of(args));
        return command;
    }

    private static String launcher;

    /** Installs the launcher once per run, from this checkout's entry script, into a folder of its own. */
    static synchronized String launcher() {
        if (launcher == null) {
            try {
                Path bin = Files.createTempDirectory(Path.of("/tmp"), "bkm-bench-bin");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> TestSshd.deleteTree(bin)));
                // The launcher's class data archive goes in a state folder of the run's own, like the launcher.
                Map<String, String> env = new HashMap<>(System.getenv());
                env.put("BUILDKIT_MACHINE_HOME", bin.resolve("state").toString());
                launcher = run(List.of(REPO.resolve("scripts/jbang").toString(),
                        REPO.resolve("buildkit-machine.java").toString(), "install", "--dir", bin.toString(), "-q"),
                        env).lines().filter(l -> l.endsWith("/buildkit-machine")).findFirst().orElseThrow();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return launcher;
    }

    static String javaHome(String program) {
        return Path.of(System.getProperty("java.home"), "bin", program).toString();
    }

    static Path need(String program, String path) {
        return Program.findOnPath(program, path).orElseThrow(() -> new TestAbortedException(program
                + " is not on PATH (BuildKit is in no Debian package; put a BuildKit release on PATH)"));
    }

    static int freePort() {
        try (var socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Records when the daemon first answers through the socket, probing as fast as it can. */
    static void watch(Path socket, AtomicLong firstAnswer) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            try {
                DaemonProbe.unix(socket).listWorkers(Duration.ofMillis(500));
                firstAnswer.set(System.nanoTime());
                return;
            } catch (IOException | RuntimeException notYet) {
                pause(2);
            }
        }
    }

    static void await(Path guestSocket) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            try {
                DaemonProbe.unix(guestSocket).listWorkers(Duration.ofMillis(500));
                return;
            } catch (IOException | RuntimeException notYet) {
                pause(2);
            }
        }
        throw new IllegalStateException("the guest's buildkitd did not answer at " + guestSocket);
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static long rssKib(long pid) throws IOException {
        return kib(Path.of("/proc/" + pid + "/status"), "VmRSS:");
    }

    /** The proportional set size: pages shared with other processes (libjvm, libc) count in part. */
    static long pssKib(long pid) throws IOException {
        return kib(Path.of("/proc/" + pid + "/smaps_rollup"), "Pss:");
    }

    private static long kib(Path file, String field) throws IOException {
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return 0;
    }

    static String mib(long kib) {
        return String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
    }

    static String machine() {
        return Runtime.getRuntime().availableProcessors() + " CPUs, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }
}
