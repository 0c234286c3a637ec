package integration;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import support.LimaDouble;
import support.LimaDouble.Result;
import support.TestSshd;

/**
 * The limactl double keeps the promises of real limactl (v2.x) that buildkit-machine relies on, checked
 * against a real sshd as guest. If the double drifted from Lima, every test built on it would prove nothing.
 */
class LimaDoubleContractTest {
    /** One logrus text line, as Lima writes its logs to stderr when stderr is not a terminal. */
    private static final Pattern LOGRUS = Pattern.compile(
            "^time=\"[^\"]+\" level=(debug|info|warning|error|fatal) msg=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)$");
    private static final Pattern JSON_MEMBER = Pattern.compile(
            "\"([^\"]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|-?[0-9]+|true|false|null|\\[[^\\]]*]|\\{[^}]*})");

    private static TestSshd sshd;
    private static Path boot;
    private static Path template;
    private LimaDouble lima;

    @BeforeAll
    static void startGuest() throws IOException {
        sshd = TestSshd.start();
        // Stands in for Lima's boot scripts and user units: reports its environment, keeps a child running.
        boot = sshd.guestFile("boot.sh", String.join("\n",
                "#!/bin/sh",
                "echo \"booted instance=$LIMA_DOUBLE_INSTANCE runtime=$XDG_RUNTIME_DIR user=$(id -un)\"",
                "sleep 100000 &",
                "wait",
                ""), true);
        template = Files.createTempFile("bkm-template", ".yaml");
        Files.writeString(template, "# test template\ncpus: 3\nmemory: \"2GiB\"\n");
    }

    @AfterAll
    static void stopGuest() throws IOException {
        if (sshd != null) {
            sshd.close();
        }
        if (template != null) {
            Files.deleteIfExists(template);
        }
    }

    @BeforeEach
    void freshHome() {
        lima = new LimaDouble(sshd, boot);
    }

    @AfterEach
    void cleanUp() {
        if (lima != null) {
            lima.close();
        }
    }

    @Test
    void versionAndInfo() {
        Result version = lima.run("--version");
        assertThat(version.exitCode()).isZero();
        assertThat(version.stdout()).isEqualTo("limactl version 2.0.3\n");

        Result info = lima.run("info");
        assertThat(info.exitCode()).as(info.toString()).isZero();
        assertThat(info.stdout().lines().toList()).hasSize(1);
        Map<String, String> json = json(info.stdout().strip());
        assertThat(json).containsEntry("version", "2.0.3").containsEntry("limaHome", lima.limaHome().toString());
        assertThat(json).containsKeys("vmTypes", "templates");
    }

    @Test
    void listOnAnEmptyHomeWarnsAndPrintsNothing() {
        Result r = lima.run("list", "--json");
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderrLines()).singleElement().satisfies(l -> {
            assertLogrus(l, "warning");
            assertThat(l).contains("No instance found.");
        });
    }

    @Test
    void listOfAnUnknownNameWarnsThenFails() {
        Result r = lima.run("list", "--format", "json", "nope");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stdout()).isEmpty();
        List<String> lines = r.stderrLines();
        assertThat(lines).hasSize(2);
        assertLogrus(lines.get(0), "warning");
        assertThat(lines.get(0)).endsWith("msg=\"No instance matching nope found.\"");
        assertLogrus(lines.get(1), "fatal");
        assertThat(lines.get(1)).endsWith("msg=\"unmatched instances\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-x", "a..b", "_reserved", "x.yaml", "x.yml", "a b", "trailing-", "ümlaut",
        "a234567890123456789012345678901234567890123456789012345678901234567890123456789"})
    void invalidNamesAreFatal(String name) {
        Result r = lima.run("create", "--name=" + name, "--tty=false", template.toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderrLines()).last().satisfies(l -> assertLogrus(l, "fatal"));
        assertThat(lima.instanceDir(name)).doesNotExist();
    }

    @Test
    void createCopiesTheTemplateRecordsSizesAndRejectsAnExistingName() throws IOException {
        Result r = lima.run("create", "--name", "c1", "--tty=false", "--cpus", "2", "--memory", "1.5", "--disk",
                "3", "--set", ".arch = \"aarch64\"", template.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(lima.instanceDir("c1").resolve("lima.yaml")).hasSameTextualContentAs(template);

        Map<String, String> c1 = listOne("c1");
        assertThat(c1).containsEntry("name", "c1").containsEntry("hostname", "lima-c1")
                .containsEntry("status", "Stopped").containsEntry("dir", lima.instanceDir("c1").toString())
                .containsEntry("cpus", "2").containsEntry("memory", "1610612736")
                .containsEntry("disk", "3221225472").containsEntry("arch", "aarch64")
                .containsEntry("protected", "false").containsEntry("limaVersion", "2.0.3");
        assertThat(c1).doesNotContainKeys("hostAgentPID", "driverPID", "sshLocalPort");

        Result again = lima.run("create", "--name", "c1", "--tty=false", template.toString());
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.stderrLines()).last().satisfies(l -> {
            assertLogrus(l, "fatal");
            assertThat(l).contains("already exists");
        });
    }

    @Test
    void createReadsTheTemplateFromStdinOnlyWithAName() {
        Result r = lima.runWithStdin("cpus: 1\n", "create", "--name", "in", "--tty=false", "-");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(lima.instanceDir("in").resolve("lima.yaml")).hasContent("cpus: 1");
        assertThat(listOne("in")).containsEntry("cpus", "1");

        Result noName = lima.runWithStdin("cpus: 1\n", "create", "--tty=false", "-");
        assertThat(noName.exitCode()).isEqualTo(1);
        assertThat(noName.stderrLines()).last().satisfies(l -> assertLogrus(l, "fatal"));
    }

    @Test
    void listPrintsJsonLinesSortedByNameOrInTheOrderAsked() {
        for (String n : List.of("zz", "aa", "mm")) {
            assertThat(lima.run("create", "--name", n, "--tty=false", template.toString()).exitCode()).isZero();
        }
        List<String> all = lima.run("list", "--json").stdout().lines().toList();
        assertThat(all).hasSize(3).allSatisfy(l -> assertThat(l).startsWith("{").endsWith("}"));
        assertThat(all.stream().map(l -> json(l).get("name"))).containsExactly("aa", "mm", "zz");

        List<String> asked = lima.run("list", "--json", "zz", "aa").stdout().lines().toList();
        assertThat(asked.stream().map(l -> json(l).get("name"))).containsExactly("zz", "aa");

        Result fmt = lima.run("list", "--format", "{{.Name}}={{.Status}}", "mm");
        assertThat(fmt.stdout()).isEqualTo("mm=Stopped\n");
    }

    @Test
    void startEndsReadyAndListShowsRunningWithLivePids() throws IOException {
        create("s1");
        Result r = lima.run("start", "--tty=false", "--timeout", "2m", "s1");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderrLines()).allSatisfy(l -> assertThat(l).matches(LOGRUS));
        assertThat(r.stderrLines()).last().asString().contains("msg=\"READY.");

        Map<String, String> s1 = listOne("s1");
        assertThat(s1).containsEntry("status", "Running")
                .containsEntry("sshLocalPort", String.valueOf(sshd.port()))
                .containsEntry("sshConfigFile", lima.sshConfig("s1").toString());
        assertThat(alive(Long.parseLong(s1.get("hostAgentPID")))).isTrue();
        assertThat(alive(Long.parseLong(s1.get("driverPID")))).isTrue();
        assertThat(lima.instanceDir("s1").resolve("ha.pid")).hasContent(s1.get("hostAgentPID"));
        assertThat(lima.instanceDir("s1").resolve("qemu.pid")).hasContent(s1.get("driverPID"));

        // The boot ran in the guest, as the guest user, with the sshd's own runtime dir.
        awaitTrue(() -> Files.exists(lima.bootLog("s1")) && read(lima.bootLog("s1")).contains("booted"));
        assertThat(read(lima.bootLog("s1"))).contains("booted instance=s1 runtime=" + sshd.runtimeDir()
                + " user=" + sshd.user());
        assertThat(groupAlive(bootGroup("s1"))).isTrue();
        assertThat(lima.calls()).contains("limactl start --tty=false --timeout 2m s1");
    }

    @Test
    void startOfARunningInstanceIsANoOp() throws IOException {
        start("s2");
        String ha = read(lima.instanceDir("s2").resolve("ha.pid"));
        long group = bootGroup("s2");

        Result again = lima.run("start", "--tty=false", "s2");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.stderrLines()).singleElement().satisfies(l -> {
            assertLogrus(l, "info");
            assertThat(l).contains("is already running");
        });
        assertThat(read(lima.instanceDir("s2").resolve("ha.pid"))).isEqualTo(ha);
        assertThat(bootGroup("s2")).isEqualTo(group);
    }

    @Test
    void startWithNameAndTemplateCreatesThenStarts() {
        Result r = lima.run("start", "--name", "s3", "--tty=false", template.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(listOne("s3")).containsEntry("status", "Running").containsEntry("cpus", "3");
    }

    @Test
    void startOfABareUnknownNameCreatesFromTheDefaultWithADeprecationWarning() {
        Result r = lima.run("start", "--tty=false", "s4");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stderr()).contains("level=warning msg=\"This form is deprecated.");
        assertThat(listOne("s4")).containsEntry("status", "Running");
    }

    @Test
    void shellRunsInTheGuestAndPassesTheExitCodeThrough() {
        start("sh1");
        Result seven = lima.run("shell", "sh1", "sh", "-c", "exit 7");
        assertThat(seven.exitCode()).as(seven.toString()).isEqualTo(7);

        Result args = lima.run("shell", "sh1", "printf", "%s|", "a b", "it's", "$HOME");
        assertThat(args.exitCode()).as(args.toString()).isZero();
        assertThat(args.stdout()).isEqualTo("a b|it's|$HOME|");

        Result env = lima.run("shell", "--workdir", "/", "sh1", "sh", "-c", "pwd; id -un; echo $XDG_RUNTIME_DIR");
        assertThat(env.stdout().lines().toList()).containsExactly("/", sshd.user(), sshd.runtimeDir().toString());

        Result badDir = lima.run("shell", "--workdir", "/no/such/dir", "sh1", "true");
        assertThat(badDir.exitCode()).isNotZero();
    }

    @Test
    void sshConfigIsPrivateFollowsLimaAndJoinsTheHostAgentMaster() throws IOException {
        start("cfg");
        Path cfg = lima.sshConfig("cfg");
        assertThat(Files.getPosixFilePermissions(cfg)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        List<String> lines = Files.readAllLines(cfg).stream().map(String::strip).toList();
        assertThat(lines).contains("Host lima-cfg",
                "IdentityFile \"" + sshd.clientKey() + "\"",
                "StrictHostKeyChecking no",
                "UserKnownHostsFile /dev/null",
                "BatchMode yes",
                "IdentitiesOnly yes",
                "User " + sshd.user(),
                "ControlMaster auto",
                "ControlPath \"" + lima.instanceDir("cfg").resolve("ssh.sock") + "\"",
                "ControlPersist yes",
                "Hostname 127.0.0.1",
                "Port " + sshd.port());

        Result plain = exec("ssh", "-F", cfg.toString(), "lima-cfg", "true");
        assertThat(plain.exitCode()).as(plain.toString()).isZero();
        // The second ssh joined the host agent's master rather than becoming one itself.
        String ha = read(lima.instanceDir("cfg").resolve("ha.pid")).strip();
        Result check = exec("ssh", "-F", cfg.toString(), "-O", "check", "lima-cfg");
        assertThat(check.exitCode()).as(check.toString()).isZero();
        assertThat(check.stderr()).contains("Master running (pid=" + ha + ")");
    }

    @Test
    void stopEndsGuestAndStandInsThenStopAgainNeedsForce() throws IOException {
        start("st");
        Map<String, String> running = listOne("st");
        long ha = Long.parseLong(running.get("hostAgentPID"));
        long vm = Long.parseLong(running.get("driverPID"));
        long group = bootGroup("st");

        Result stop = lima.run("stop", "st");
        assertThat(stop.exitCode()).as(stop.toString()).isZero();
        assertThat(listOne("st")).containsEntry("status", "Stopped").doesNotContainKeys("hostAgentPID", "driverPID");
        awaitTrue(() -> !alive(ha) && !alive(vm) && !groupAlive(group));
        assertThat(lima.instanceDir("st").resolve("ssh.sock")).doesNotExist();

        Result again = lima.run("stop", "st");
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.stderrLines()).last().satisfies(l -> {
            assertLogrus(l, "fatal");
            assertThat(l).contains("expected status \\\"Running\\\", got \\\"Stopped\\\"");
        });
        assertThat(lima.run("stop", "-f", "st").exitCode()).isZero();

        Result shell = lima.run("shell", "st", "true");
        assertThat(shell.exitCode()).isEqualTo(1);
        assertThat(shell.stderrLines()).last().satisfies(l -> assertLogrus(l, "fatal"));

        Result restart = lima.run("start", "--tty=false", "st");
        assertThat(restart.exitCode()).as(restart.toString()).isZero();
        assertThat(listOne("st")).containsEntry("status", "Running");
    }

    @Test
    void deleteOfARunningInstanceNeedsForce() {
        start("d1");
        long vm = Long.parseLong(listOne("d1").get("driverPID"));
        long group = bootGroup("d1");

        Result refused = lima.run("delete", "d1");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.stderrLines()).last().satisfies(l -> assertLogrus(l, "fatal"));
        assertThat(lima.instanceDir("d1")).isDirectory();

        Result forced = lima.run("delete", "-f", "d1");
        assertThat(forced.exitCode()).as(forced.toString()).isZero();
        assertThat(lima.instanceDir("d1")).doesNotExist();
        awaitTrue(() -> !alive(vm) && !groupAlive(group));

        Result missing = lima.run("delete", "d1");
        assertThat(missing.exitCode()).isZero();
        assertThat(missing.stderrLines()).singleElement().satisfies(l -> assertLogrus(l, "warning"));
    }

    @Test
    void instanceIsBrokenWhenTheVmStandInDies() {
        start("b1");
        long vm = Long.parseLong(listOne("b1").get("driverPID"));
        long ha = Long.parseLong(listOne("b1").get("hostAgentPID"));
        // The double started this process for this test: ending it simulates a crashed VM.
        ProcessHandle.of(vm).ifPresent(ProcessHandle::destroy);
        awaitTrue(() -> !alive(vm));
        assertThat(listOne("b1")).containsEntry("status", "Broken").doesNotContainKey("driverPID");

        assertThat(lima.run("stop", "b1").exitCode()).isEqualTo(1);
        Result forced = lima.run("stop", "-f", "b1");
        assertThat(forced.exitCode()).as(forced.toString()).isZero();
        assertThat(listOne("b1")).containsEntry("status", "Stopped");
        awaitTrue(() -> !alive(ha));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "frobnicate                 | unknown command",
        "list --bogus               | unknown flag: --bogus",
        "stop -x c1                 | unknown shorthand flag",
        "start --timeout soon c1    | invalid duration",
        "create --cpus              | flag needs an argument",
        "stop ghost                 | does not exist",
        "shell ghost true           | does not exist",
    })
    void misuseIsFatal(String args, String message) {
        Result r = lima.run(args.strip().split(" +"));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderrLines()).last().satisfies(l -> {
            assertLogrus(l, "fatal");
            assertThat(l).contains(message);
        });
    }

    // ------------------------------------------------------------------------------------------------------

    private void create(String name) {
        Result r = lima.run("create", "--name", name, "--tty=false", template.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
    }

    private void start(String name) {
        create(name);
        Result r = lima.run("start", "--tty=false", name);
        assertThat(r.exitCode()).as(r + "\nsshd:\n" + sshd.logTail()).isZero();
    }

    private Map<String, String> listOne(String name) {
        Result r = lima.run("list", "--json", name);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout().lines().toList()).hasSize(1);
        return json(r.stdout().strip());
    }

    private long bootGroup(String name) {
        return Long.parseLong(read(lima.instanceDir(name).resolve("boot.pgid")).strip());
    }

    private static void assertLogrus(String line, String level) {
        Matcher m = LOGRUS.matcher(line);
        assertThat(m.matches()).as("logrus text line: %s", line).isTrue();
        assertThat(m.group(1)).isEqualTo(level);
    }

    /** Top-level members of one compact JSON object; strings unquoted, other values as written. */
    private static Map<String, String> json(String object) {
        assertThat(object).startsWith("{").endsWith("}");
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = JSON_MEMBER.matcher(object);
        while (m.find()) {
            String v = m.group(2);
            if (v.startsWith("\"")) {
                v = v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
            }
            out.putIfAbsent(m.group(1), v);
        }
        return out;
    }

    /** Alive and not a zombie (a slow reaper as PID 1 can leave zombies around for a while). */
    private static boolean alive(long pid) {
        Path stat = Path.of("/proc", String.valueOf(pid), "stat");
        if (Files.isDirectory(Path.of("/proc/self"))) {
            String s = readOrEmpty(stat);
            return !s.isEmpty() && !s.substring(s.lastIndexOf(')') + 2).startsWith("Z");
        }
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Whether any live (non-zombie) process is in process group {@code pgid}; the guest is this machine. */
    private static boolean groupAlive(long pgid) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).anyMatch(p -> {
                String s = readOrEmpty(p.resolve("stat"));
                if (s.isEmpty()) {
                    return false;
                }
                String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                return !f[0].equals("Z") && f[2].equals(String.valueOf(pgid));
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String readOrEmpty(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(15));
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as("condition within 15s").isBefore(deadline);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Runs a host command with output through files (a joining ssh must never hang the test on a pipe). */
    private static Result exec(String... command) throws IOException {
        Path io = Files.createTempDirectory("bkm-exec");
        try {
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(command)));
            pb.redirectOutput(io.resolve("out").toFile()).redirectError(io.resolve("err").toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process p = pb.start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within 30s");
            }
            return new Result(p.exitValue(), Files.readString(io.resolve("out"), StandardCharsets.UTF_8),
                    Files.readString(io.resolve("err"), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            try (Stream<Path> files = Files.list(io)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(io);
        }
    }
}
