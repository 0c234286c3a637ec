package buildkitmachine.buildkit;

import buildkitmachine.MachineException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@code docker build}-like request, turned into buildctl's arguments. Paths are absolute by now; images are
 * pushed with the credentials of the user's Docker config, which buildctl hands to buildkitd through the build
 * session, so they never enter the VM.
 *
 * @param context the context folder
 * @param dockerfile the Dockerfile; null for {@code Dockerfile} in the context
 * @param tags image names; with {@code push} they are pushed
 * @param outputs buildctl outputs such as {@code type=local,dest=out}; a bare path means a local folder
 */
public record BuildRequest(Path context, Path dockerfile, List<String> tags, List<String> buildArgs, String target,
        List<String> platforms, boolean push, List<String> outputs, boolean noCache, String progress,
        List<String> extra) {
    public BuildRequest {
        tags = List.copyOf(tags);
        buildArgs = List.copyOf(buildArgs);
        platforms = List.copyOf(platforms);
        outputs = List.copyOf(outputs);
        extra = List.copyOf(extra);
    }

    /** Fails with a usage error when the request cannot work, before buildctl runs. */
    public void check() {
        if (!Files.isDirectory(context)) {
            throw MachineException.usage("the build context " + context + " is not a folder; give the folder to"
                    + " build, e.g. 'buildkit-machine build .'");
        }
        Path file = dockerfile != null ? dockerfile : context.resolve("Dockerfile");
        if (!Files.isRegularFile(file)) {
            throw MachineException.usage(file + " does not exist; give the Dockerfile with -f FILE");
        }
        if (push && tags.isEmpty()) {
            throw MachineException.usage("--push needs an image name: add -t NAME[:TAG]");
        }
        for (String arg : buildArgs) {
            if (!arg.matches("[A-Za-z_][A-Za-z0-9_]*(=.*)?")) {
                throw MachineException.usage("--build-arg '" + arg + "' is not NAME=VALUE");
            }
        }
        for (String tag : tags) {
            if (tag.isBlank() || tag.contains(",") || tag.contains("\"")
                    || tag.chars().anyMatch(Character::isWhitespace)) {
                throw MachineException.usage("-t '" + tag + "' is not an image name, e.g. registry.lan:5000/app:1");
            }
        }
    }

    /** buildctl's arguments, from {@code build} on; a bare build-arg NAME takes its value from {@code env}. */
    public List<String> buildctlArgs(Map<String, String> env) {
        List<String> args = new ArrayList<>(List.of("build", "--frontend", "dockerfile.v0",
                "--local", "context=" + context));
        Path file = dockerfile != null ? dockerfile : context.resolve("Dockerfile");
        args.addAll(List.of("--local", "dockerfile=" + file.getParent(), "--opt", "filename=" + file.getFileName()));
        buildArgs.forEach(a -> args.addAll(List.of("--opt", "build-arg:" + withValue(a, env))));
        if (target != null) {
            args.addAll(List.of("--opt", "target=" + target));
        }
        if (!platforms.isEmpty()) {
            args.addAll(List.of("--opt", "platform=" + String.join(",", platforms)));
        }
        if (!tags.isEmpty()) {
            // buildctl reads outputs as CSV: a list of names is one quoted field.
            args.addAll(List.of("--output", "type=image,\"name=" + String.join(",", tags) + "\",push=" + push));
        }
        outputs.forEach(o -> args.addAll(List.of("--output", o.contains("=") ? o : "type=local,dest=" + o)));
        if (noCache) {
            args.add("--no-cache");
        }
        if (progress != null) {
            args.addAll(List.of("--progress", progress));
        }
        args.addAll(extra);
        return args;
    }

    /** A bare NAME takes its value from the environment, as docker build does. */
    private static String withValue(String arg, Map<String, String> env) {
        if (arg.contains("=")) {
            return arg;
        }
        String value = env.get(arg);
        return value == null ? arg + "=" : arg + "=" + value;
    }
}
