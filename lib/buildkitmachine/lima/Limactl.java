package buildkitmachine.lima;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Lima's command line, driven as its documentation promises: JSON Lines from {@code list}, {@code --tty=false} so that
 * it never asks questions, and {@code stop -f} for instances it reports as Broken.
 */
public final class Limactl {
    /** Lima's rule for instance names. */
    public static final String NAME_RULE = "^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$";

    private static final Duration QUICK = Duration.ofSeconds(30);
    /** Jackson's mapper, made on first use, so that a command that never reads Lima's JSON skips its start. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper()
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

        private Json() {
        }
    }

    private final Program program;

    public Limactl(Host host) {
        this.program = new Program("limactl",
                "install Lima: 'brew install lima' on macOS, or see https://lima-vm.io/docs/installation/", host);
    }

    /** The program itself, to check that it is installed. */
    public Program program() {
        return program;
    }

    /** The installed Lima release. */
    public LimaVersion version() {
        String out = program.check(List.of("--version"), QUICK);
        try {
            return LimaVersion.parse(out);
        } catch (IllegalArgumentException e) {
            throw MachineException.toolFailed("limactl --version printed no version: " + Program.tail(out, 1));
        }
    }

    /** Fails with a missing-tool error when the installed Lima is older than the template needs. */
    public void requireAtLeast(LimaVersion minimum) {
        LimaVersion installed = version();
        if (installed.compareTo(minimum) < 0) {
            throw MachineException.missingTool("limactl " + installed + " is too old; this template needs Lima "
                    + minimum + " or newer: 'brew upgrade lima', or see https://lima-vm.io/docs/installation/");
        }
    }

    /** Every instance in LIMA_HOME. */
    public List<LimaInstance> list() {
        return parseList(program.check(List.of("list", "--json"), QUICK));
    }

    /** The named instance, when it exists. */
    public Optional<LimaInstance> find(String name) {
        return list().stream().filter(i -> name.equals(i.name())).findFirst();
    }

    /** Reads {@code limactl list --json} output: one JSON object per line, never an array. */
    public static List<LimaInstance> parseList(String output) {
        List<LimaInstance> instances = new ArrayList<>();
        for (String line : output.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            LimaInstance instance = parseLine(line.strip());
            if (instance.name() == null || instance.name().isBlank()) {
                throw contractBroken("an instance without a name", line);
            }
            instances.add(instance);
        }
        return instances;
    }

    private static LimaInstance parseLine(String line) {
        if (!line.startsWith("{")) {
            throw contractBroken("a line that is not a JSON object", line);
        }
        try {
            return Json.MAPPER.readValue(line, LimaInstance.class);
        } catch (JsonProcessingException e) {
            throw contractBroken("a line that is not valid JSON", line);
        }
    }

    private static MachineException contractBroken(String what, String line) {
        String shown = line.length() > 80 ? line.substring(0, 80) + "…" : line;
        return MachineException.toolFailed("limactl list --json printed " + what + " ('" + shown
                + "'); is this Lima 2.0 or newer? 'limactl --version' tells");
    }

    /** Creates an instance from a template fed on stdin. */
    public void create(String name, Template template, LimaResources resources, Duration timeout) {
        List<String> args = new ArrayList<>(List.of("create", "--name=" + name, "--tty=false"));
        args.addAll(resources.flags());
        args.add("-");
        program.run(args, template.content(), timeout).orFail();
    }

    /** Boots a created or stopped instance; Lima returns once SSH and its boot scripts are done. */
    public void start(String name, Duration timeout) {
        long seconds = Math.max(1, timeout.toSeconds());
        List<String> args = List.of("start", "--tty=false", "--timeout=" + seconds + "s", name);
        program.run(args, timeout.plusSeconds(30)).orFail();
    }

    /** Stops an instance; {@code force} is what Broken instances need. */
    public void stop(String name, boolean force, Duration timeout) {
        List<String> args = force ? List.of("stop", "-f", name) : List.of("stop", name);
        program.run(args, timeout).orFail();
    }

    /** Deletes an instance and its disk; {@code force} also stops a running one. */
    public void delete(String name, boolean force, Duration timeout) {
        List<String> args = force ? List.of("delete", "-f", name) : List.of("delete", name);
        program.run(args, timeout).orFail();
    }
}
