package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import buildkitmachine.lima.LimaVersion;
import buildkitmachine.lima.Limactl;
import buildkitmachine.lima.Template;
import buildkitmachine.ssh.SshTarget;
import com.fasterxml.jackson.annotation.JsonValue;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Checks what the toolkit needs on this host and in each machine, and says for every finding how to fix it. A tool
 * that no machine needs is never a failure: it is only worth knowing about.
 */
public final class Doctor {
    /** Free space below which the build cache should be pruned. */
    static final long LOW_DISK_BYTES = 2L << 30;
    static final double LOW_DISK_SHARE = 0.10;
    /** Clock difference between host and guest beyond which TLS and registry tokens start to fail. */
    static final long SKEW_LIMIT_MS = 5_000;
    private static final Duration QUICK = Duration.ofSeconds(10);
    private static final Set<PosixFilePermission> OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
    /** Prints the guest's clock, then the free and total KiB where the guest's buildkitd keeps its state. */
    static final String GUEST_FACTS = String.join("\n",
            "date +%s%3N 2>/dev/null | grep -q N && date +%s000 || date +%s%3N",
            "d=\"${XDG_DATA_HOME:-$HOME/.local/share}\"",
            "[ -d \"$d\" ] || d=\"$HOME\"",
            "df -Pk \"$d\" | awk 'NR==2 {print $4, $2}'");

    /** How a check came out. */
    public enum Status {
        OK, WARN, FAIL;

        /** As JSON and the text output show it: ok, warn, fail. */
        @JsonValue
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One finding: what was checked, how it came out, what was seen, and how to fix it (empty when ok). */
    public record Finding(String check, Status status, String detail, String fix) {
    }

    private final Host host;
    private final List<Finding> findings = new ArrayList<>();

    private Doctor(Host host) {
        this.host = host;
    }

    /** Checks the host and these machines. */
    public static List<Finding> examine(Host host, List<String> machines) {
        Doctor doctor = new Doctor(host);
        List<String> drivers = machines.stream().map(n -> Machine.named(host, n).driverName()).toList();
        doctor.checkTools(drivers);
        doctor.checkStateFolder();
        machines.forEach(n -> doctor.checkMachine(Machine.named(host, n)));
        return List.copyOf(doctor.findings);
    }

    private void add(String check, Status status, String detail, String fix) {
        findings.add(new Finding(check, status, detail, fix == null ? "" : fix));
    }

    // Host

    /** The tools of the drivers in use; with no machine yet, of the driver a first start would choose. */
    private void checkTools(List<String> inUse) {
        List<String> drivers = inUse.isEmpty() ? List.of(defaultDriver()) : inUse;
        boolean lima = drivers.contains(Driver.LIMA);
        boolean ssh = lima || drivers.contains(Driver.SSH);
        boolean local = drivers.contains(Driver.LOCAL);
        tool("ssh", List.of("-V"), ssh, "Lima and ssh machines", "install OpenSSH's client, e.g. 'apt-get install"
                + " openssh-client'");
        checkLimactl(lima);
        tool("buildctl", List.of("--version"), false, "build, buildctl, du and prune", "install BuildKit's"
                + " client: 'brew install buildkit', or buildctl from a BuildKit release");
        tool("buildkitd", List.of("--version"), local, "local machines", "put buildkitd from a BuildKit release"
                + " on PATH");
        if (!LocalDriver.runsAsRoot()) {
            tool("rootlesskit", List.of("--version"), local, "local machines", "install rootlesskit, e.g."
                    + " 'apt-get install rootlesskit uidmap'");
        }
        tool("docker-buildx", List.of("version"), false, "the buildx command", "install docker-buildx, or the"
                + " Docker CLI with its buildx plugin");
    }

    private String defaultDriver() {
        try {
            return Driver.defaultName(host);
        } catch (MachineException neither) {
            return Driver.LIMA;
        }
    }

    private void tool(String name, List<String> versionArgs, boolean needed, String neededFor, String fix) {
        Program program = new Program(name, fix, host);
        var found = name.equals("docker-buildx") ? buildx() : program.find();
        if (found.isEmpty()) {
            add(name, needed ? Status.FAIL : Status.WARN, "not installed; needed for " + neededFor, fix);
            return;
        }
        Program.Result version = new Program(found.get().toString(), fix, host).run(versionArgs, QUICK);
        String text = (version.stdout() + version.stderr()).strip().lines().findFirst().orElse("");
        add(name, version.ok() ? Status.OK : Status.WARN, version.ok() ? text : "does not run: "
                + version.describeFailure(), version.ok() ? null : "reinstall " + name);
    }

    private Optional<Path> buildx() {
        Path plugin = Path.of("/usr/libexec/docker/cli-plugins/docker-buildx");
        var onPath = Program.findOnPath("docker-buildx", host.env().getOrDefault("PATH", ""));
        return onPath.isPresent() ? onPath : Files.isExecutable(plugin) ? Optional.of(plugin)
                : Optional.empty();
    }

    private void checkLimactl(boolean needed) {
        Limactl limactl = new Limactl(host);
        String fix = "install Lima 2.0 or newer: 'brew install lima', or see https://lima-vm.io/docs/installation/";
        if (limactl.program().find().isEmpty()) {
            add("limactl", needed ? Status.FAIL : Status.WARN, "not installed; needed for Lima machines", fix);
            return;
        }
        LimaVersion minimum = Template.bundled().minimumLimaVersion().orElse(new LimaVersion(0, 0, 0));
        try {
            LimaVersion version = limactl.version();
            boolean recent = version.compareTo(minimum) >= 0;
            add("limactl", recent ? Status.OK : needed ? Status.FAIL : Status.WARN, "Lima " + version
                    + (recent ? "" : ", older than " + minimum + " that the template needs"), recent ? null : fix);
        } catch (MachineException e) {
            add("limactl", Status.FAIL, e.getMessage(), fix);
        }
    }

    private void checkStateFolder() {
        Path folder = host.stateHome();
        if (!Files.isDirectory(folder)) {
            add("state folder", Status.OK, folder + " does not exist yet; the first start makes it", null);
            return;
        }
        try {
            Set<PosixFilePermission> modes = Files.getPosixFilePermissions(folder, LinkOption.NOFOLLOW_LINKS);
            boolean open = modes.contains(PosixFilePermission.GROUP_WRITE)
                    || modes.contains(PosixFilePermission.OTHERS_WRITE);
            if (open) {
                add("state folder", Status.FAIL, folder + " is writable by other users, who could change what"
                        + " the tool runs", "chmod 700 " + folder);
            } else if (!Files.isWritable(folder)) {
                add("state folder", Status.FAIL, folder + " is not writable", "chmod u+w " + folder);
            } else {
                add("state folder", Status.OK, folder.toString(), null);
            }
        } catch (IOException e) {
            add("state folder", Status.FAIL, "cannot read " + folder + ": " + e.getMessage(), "chmod 700 " + folder);
        }
    }

    // Machines

    private void checkMachine(Machine machine) {
        String name = machine.name();
        String check = name + ": state";
        MachineStatus status;
        try {
            status = machine.status();
        } catch (MachineException e) {
            add(check, Status.FAIL, "cannot tell: " + e.getMessage(), "see the tools above");
            return;
        }
        switch (status.state()) {
            case "Running" -> add(check, Status.OK, "Running (" + status.driver() + " driver)", null);
            case "Stopped" -> add(check, Status.WARN, "Stopped", "buildkit-machine start " + name);
            case "Broken" -> add(check, Status.FAIL, "the Lima instance is Broken", "buildkit-machine stop " + name
                    + " && buildkit-machine start " + name);
            default -> add(check, Status.FAIL, status.state(), "buildkit-machine start " + name);
        }
        if (!"Running".equals(status.state())) {
            return;
        }
        checkEndpoints(machine, status);
        checkSockets(machine);
        if (Driver.LOCAL.equals(machine.driverName())) {
            checkLocalDisk(machine);
        } else {
            checkGuest(machine);
        }
    }

    private void checkEndpoints(Machine machine, MachineStatus status) {
        MachineStatus.Keeper keeper = status.forward() != null ? status.forward() : status.daemon();
        if (keeper != null && !keeper.running()) {
            add(machine.name() + ": keeper", Status.FAIL, "nothing holds the endpoints open",
                    "buildkit-machine start " + machine.name());
        }
        for (MachineStatus.EndpointStatus endpoint : status.endpoints()) {
            add(machine.name() + ": endpoint", endpoint.answers() ? Status.OK : Status.FAIL,
                    endpoint.buildkitHost() + (endpoint.answers() ? " answers" : " does not answer: "
                            + endpoint.error()),
                    endpoint.answers() ? null : "buildkit-machine start " + machine.name());
        }
    }

    private void checkSockets(Machine machine) {
        for (Endpoint endpoint : machine.record().map(MachineRecord::endpoints).orElse(List.of())) {
            if (!(endpoint instanceof Endpoint.Unix unix) || !Files.exists(unix.path(), LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            Path path = unix.path();
            try {
                Set<PosixFilePermission> modes = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
                modes.retainAll(OTHERS);
                if (!modes.isEmpty()) {
                    add(machine.name() + ": socket", Status.FAIL, path + " is usable by other users, who could run"
                            + " builds", "chmod 600 " + path);
                } else if (SocketFile.writableByOthers(path.getParent())) {
                    add(machine.name() + ": socket", Status.FAIL, "the folder of " + path + " is writable by other"
                            + " users, who could replace the socket", "chmod go-w " + path.getParent());
                } else {
                    add(machine.name() + ": socket", Status.OK, path + " is its owner's only", null);
                }
            } catch (IOException e) {
                add(machine.name() + ": socket", Status.WARN, "cannot read " + path + ": " + e.getMessage(), null);
            }
        }
    }

    private void checkLocalDisk(Machine machine) {
        try {
            FileStore store = Files.getFileStore(machine.folder());
            disk(machine.name(), store.getUsableSpace(), store.getTotalSpace(), machine.folder().toString());
        } catch (IOException e) {
            add(machine.name() + ": disk", Status.WARN, "cannot read the free space: " + e.getMessage(), null);
        }
    }

    private void checkGuest(Machine machine) {
        SshTarget target;
        try {
            target = machine.shellTarget();
        } catch (MachineException e) {
            add(machine.name() + ": guest", Status.FAIL, e.getMessage(), "buildkit-machine start " + machine.name());
            return;
        }
        long before = System.currentTimeMillis();
        Program.Result result = machine.ssh().exec(target, GUEST_FACTS, QUICK);
        long after = System.currentTimeMillis();
        List<String> lines = result.stdout().strip().lines().toList();
        if (!result.ok() || lines.size() < 2) {
            add(machine.name() + ": guest", Status.FAIL, "cannot read the guest's clock and disk: "
                    + result.describeFailure(), "buildkit-machine ssh " + machine.name());
            return;
        }
        clock(machine.name(), skewMillis(Long.parseLong(lines.get(0).strip()), before, after));
        String[] df = lines.get(1).strip().split("\\s+");
        disk(machine.name(), Long.parseLong(df[0]) * 1024, Long.parseLong(df[1]) * 1024, "the guest");
    }

    /** The guest's clock minus the host's at the moment the guest read it: the middle of the round trip. */
    static long skewMillis(long guestMillis, long sentAt, long answeredAt) {
        return guestMillis - (sentAt + answeredAt) / 2;
    }

    private void clock(String name, long skew) {
        boolean off = Math.abs(skew) > SKEW_LIMIT_MS;
        add(name + ": clock", off ? Status.WARN : Status.OK, "the guest's clock is " + Math.abs(skew) + " ms "
                + (skew >= 0 ? "ahead of" : "behind") + " this host's", off ? "restart the machine to resync its"
                + " clock: buildkit-machine stop " + name + " && buildkit-machine start " + name : null);
    }

    /** Whether this much free space is too little for builds. */
    static boolean lowDisk(long free, long total) {
        return free < LOW_DISK_BYTES || total > 0 && (double) free / total < LOW_DISK_SHARE;
    }

    private void disk(String name, long free, long total, String where) {
        boolean low = lowDisk(free, total);
        add(name + ": disk", low ? Status.WARN : Status.OK, String.format("%.1f GiB free of %.1f GiB in %s",
                free / (double) (1L << 30), total / (double) (1L << 30), where), low ? "free build cache:"
                + " buildkit-machine prune " + name : null);
    }
}
