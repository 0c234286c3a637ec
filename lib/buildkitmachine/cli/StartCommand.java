package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.lima.LimaResources;
import buildkitmachine.lima.Template;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.RemoteHost;
import buildkitmachine.machine.StartOptions;
import buildkitmachine.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "start",
        description = {"Create the machine if needed, start it, and offer its buildkitd on the host.",
            "Returns once buildkitd answers a request through the endpoint; the endpoint stays open until 'stop'.",
            "Without --unix or --tcp the endpoint is the one used last, else a socket in the machine's folder."},
        footer = {"", "Examples:",
            "  buildkit-machine start --unix ./buildkitd.sock",
            "  buildkit-machine start buildkitd --tcp 9999",
            "  buildkit-machine start here --driver local --unix ./buildkitd.sock",
            "  buildkit-machine start shared --tcp 0.0.0.0:9999 --tls",
            "  buildkit-machine start arm --host builder@arm-box --start-daemon",
            "  eval \"$(buildkit-machine start -q)\" && buildctl debug workers"})
final class StartCommand extends MachineCommand {
    private static final List<String> ARCHES = List.of("x86_64", "aarch64", "armv7l", "riscv64", "ppc64le", "s390x");
    private static final List<String> VM_TYPES = List.of("qemu", "vz", "krunkit", "wsl2");

    @Mixin
    MachineName name;

    @Option(names = "--unix", paramLabel = "PATH", description = "Offer buildkitd as a unix socket at PATH.")
    String unix;

    @Option(names = "--tcp", paramLabel = "[HOST:]PORT",
            description = "Offer buildkitd on a TCP port; HOST defaults to 127.0.0.1.")
    String tcp;

    @Option(names = "--cpus", paramLabel = "N", description = "CPUs of a new VM (Lima's default otherwise).")
    Integer cpus;

    @Option(names = "--memory", paramLabel = "GiB", description = "Memory of a new VM, in GiB.")
    Double memory;

    @Option(names = "--disk", paramLabel = "GiB", description = "Disk of a new VM, in GiB.")
    Double disk;

    @Option(names = "--arch", paramLabel = "ARCH", description = "Architecture of a new VM: ${COMPLETION-CANDIDATES}.",
            completionCandidates = Arches.class)
    String arch;

    @Option(names = "--vm-type", paramLabel = "TYPE", description = "VM type of a new VM: ${COMPLETION-CANDIDATES}.",
            completionCandidates = VmTypes.class)
    String vmType;

    @Option(names = "--template", paramLabel = "FILE", description = "A Lima template of your own for a new VM.")
    Path template;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10m",
            description = "How long the whole start may take, e.g. 90s, 10m; default: ${DEFAULT-VALUE}.")
    String timeout;

    @Option(names = "--driver", paramLabel = "DRIVER", completionCandidates = Drivers.class,
            description = "Where buildkitd runs: ${COMPLETION-CANDIDATES}; remembered per machine. Default: lima on"
                    + " macOS; on Linux local when buildkitd and rootlesskit are installed, else lima.")
    String driver;

    @Option(names = "--host", paramLabel = "[USER@]HOST[:PORT]",
            description = "The build host of the ssh driver (implies --driver ssh).")
    String remote;

    @Option(names = "--identity", paramLabel = "FILE", description = "The ssh driver's private key file.")
    Path identity;

    @Option(names = "--known-hosts", paramLabel = "FILE",
            description = "A known_hosts file to check the build host's key against, instead of yours.")
    Path knownHosts;

    @Option(names = "--start-daemon",
            description = "With the ssh driver, start a rootless buildkitd on the host when none answers there.")
    boolean startDaemon;

    @Option(names = "--tls", description = "Serve the TCP endpoint with mutual TLS only, with a CA, server and"
            + " client certificate made for this machine; needed to bind an address other than loopback.")
    boolean tls;

    @Option(names = "--foreground",
            description = "Stay attached; on Ctrl-C close the endpoint and stop the machine.")
    boolean foreground;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        Machine machine = machine(name.value);
        StartOptions options = new StartOptions(endpoints(), resources(), template(), Durations.parse(timeout),
                driver, null, false, tls);
        if (remote != null) {
            Path folder = cli().workingFolder();
            options = options.onHost(RemoteHost.parse(remote, resolve(folder, identity), resolve(folder, knownHosts)),
                    startDaemon).withDriver(driver == null ? "ssh" : driver);
        } else if (startDaemon || identity != null || knownHosts != null) {
            throw MachineException.usage("--identity, --known-hosts and --start-daemon need --host");
        }
        if (foreground) {
            return runAttached(machine, options);
        }
        report(machine.start(options));
        return 0;
    }

    private List<Endpoint> endpoints() {
        List<Endpoint> endpoints = new ArrayList<>();
        if (unix != null) {
            endpoints.add(Endpoint.parseUnix(unix, cli().workingFolder()));
        }
        if (tcp != null) {
            endpoints.add(Endpoint.parseTcp(tcp));
        }
        return endpoints;
    }

    private static Path resolve(Path folder, Path file) {
        return file == null ? null : folder.resolve(file);
    }

    private LimaResources resources() {
        positive("--cpus", cpus);
        positive("--memory", memory);
        positive("--disk", disk);
        oneOf("--arch", arch, ARCHES);
        oneOf("--vm-type", vmType, VM_TYPES);
        return new LimaResources(cpus, memory, disk, arch, vmType);
    }

    private Template template() {
        return template == null ? null : Template.read(cli().workingFolder().resolve(template));
    }

    private static void positive(String option, Number value) {
        if (value != null && value.doubleValue() <= 0) {
            throw MachineException.usage(option + " must be more than 0, e.g. " + option + " 4");
        }
    }

    private static void oneOf(String option, String value, List<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            throw MachineException.usage(option + " '" + value + "' is not one of " + String.join(", ", allowed));
        }
    }

    private void report(Machine.Started started) {
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("name", started.name());
            result.put("buildkitHost", started.buildkitHost());
            result.put("endpoints", started.endpoints().stream().map(Endpoint::buildkitHost).toList());
            result.put("platforms", started.platforms());
            tlsOf(started.endpoints()).ifPresent(t -> result.put("tls", Map.of("ca", t.ca().toString(),
                    "cert", t.clientCert().toString(), "key", t.clientKey().toString(),
                    "tlsdir", t.clientFolder().toString(), "serverName", TlsFiles.SERVER_NAME)));
            printJson(result);
        } else {
            printEnv(started.endpoints());
        }
        host().log().progress("ready: try 'buildctl --addr " + started.buildkitHost() + " debug workers'");
    }

    private int runAttached(Machine machine, StartOptions options) throws InterruptedException {
        Machine.Started started = machine.startAttached(options);
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            host().log().progress("closing the endpoint and stopping " + machine.name() + "…");
            started.close();
            try {
                machine.stop();
            } catch (MachineException e) {
                host().log().error(e.getMessage());
            }
            done.countDown();
        }));
        report(started);
        host().log().progress("press Ctrl-C to close the endpoint and stop the machine");
        done.await();
        return 0;
    }

    static final class Arches extends ArrayList<String> {
        Arches() {
            super(ARCHES);
        }
    }

    static final class Drivers extends ArrayList<String> {
        Drivers() {
            super(List.of("lima", "local", "ssh"));
        }
    }

    static final class VmTypes extends ArrayList<String> {
        VmTypes() {
            super(VM_TYPES);
        }
    }

    /** Reads durations such as 500ms, 90s, 10m, 1h; a bare number is seconds. */
    static final class Durations {
        private Durations() {
        }

        static Duration parse(String text) {
            var matcher = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m|h)?").matcher(text.strip());
            if (!matcher.matches() || Long.parseLong(matcher.group(1)) == 0) {
                throw MachineException.usage("'" + text + "' is not a duration; write e.g. 90s, 10m or 1h");
            }
            long amount = Long.parseLong(matcher.group(1));
            String unit = matcher.group(2) == null ? "s" : matcher.group(2);
            return switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofSeconds(amount);
            };
        }
    }
}
