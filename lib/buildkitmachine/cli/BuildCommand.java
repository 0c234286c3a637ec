package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.buildkit.BuildRequest;
import buildkitmachine.machine.Machine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "build",
        description = {"Build a Dockerfile on a machine with buildctl, as 'docker build' would.",
            "Progress streams as it comes; pushes use your own registry credentials (~/.docker/config.json and its"
                    + " helpers), which buildctl hands to buildkitd through the build session:"
                    + " they never enter the VM.",
            "Arguments after -- go to 'buildctl build' unchanged. The exit code is buildctl's."},
        footer = {"", "Examples:",
            "  buildkit-machine build -t registry.lan:5000/app:1 --push .",
            "  buildkit-machine build --machine arm --platform linux/arm64 -o ./out .",
            "  buildkit-machine build -f docker/Dockerfile --build-arg VERSION=2 --target test ."})
final class BuildCommand extends MachineCommand {
    @Option(names = {"-m", "--machine"}, paramLabel = "NAME", defaultValue = Machine.DEFAULT_NAME,
            description = "The machine to build on; default: ${DEFAULT-VALUE}.")
    String machine;

    @Parameters(paramLabel = "CONTEXT", description = "The context folder (default: the current folder), then"
            + " optionally -- and more arguments for 'buildctl build'.")
    List<String> words = new ArrayList<>();

    @Option(names = {"-t", "--tag"}, paramLabel = "NAME[:TAG]", description = "Name the image; repeatable.")
    List<String> tags = new ArrayList<>();

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "The Dockerfile; default: CONTEXT/Dockerfile.")
    Path file;

    @Option(names = "--build-arg", paramLabel = "NAME[=VALUE]", description = "A build argument; repeatable.")
    List<String> buildArgs = new ArrayList<>();

    @Option(names = "--target", paramLabel = "STAGE", description = "Build this stage.")
    String target;

    @Option(names = "--platform", paramLabel = "PLATFORM", split = ",",
            description = "Build for these platforms, e.g. linux/arm64.")
    List<String> platforms = new ArrayList<>();

    @Option(names = "--push", description = "Push the image (needs -t).")
    boolean push;

    @Option(names = {"-o", "--output"}, paramLabel = "OUTPUT",
            description = "A buildctl output, e.g. type=local,dest=out or type=oci,dest=app.tar; a bare PATH is a"
                    + " folder; repeatable.")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--no-cache", description = "Do not use the build cache.")
    boolean noCache;

    @Option(names = "--progress", paramLabel = "MODE", description = "auto, plain, tty, quiet or rawjson.")
    String progress;

    @Override
    public Integer call() {
        Path folder = cli().workingFolder();
        List<String> before = beforeDashes(words);
        if (before.size() > 1) {
            throw MachineException.usage("give one context folder; put arguments for buildctl after --");
        }
        Path context = Path.of(before.isEmpty() ? "." : before.get(0));
        List<String> extra = words.subList(before.size(), words.size());
        BuildRequest request = new BuildRequest(folder.resolve(context).normalize(),
                file == null ? null : folder.resolve(file).normalize(), tags, buildArgs, target, platforms, push,
                outputs.stream().map(o -> o.contains("=") ? o : folder.resolve(o).normalize().toString()).toList(),
                noCache, progress, extra);
        request.check();
        return machine(machine).buildctl().stream(request.buildctlArgs(host().env()), folder, out(), err());
    }
}
