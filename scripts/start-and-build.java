///usr/bin/env jbang "$0" "$@" ; exit $?
//SOURCES ../buildkit-machine.java
//MAIN start_and_build

// An example of scripting with the buildkit-machine library: start a machine, open an endpoint that this script
// owns, and run buildctl through it. Outside this repository, replace the //SOURCES line above with the path or
// raw URL of buildkit-machine.java.
//
//   scripts/jbang scripts/start-and-build.java [NAME] [CONTEXT-FOLDER]
//
// With a context folder holding a Dockerfile it builds it (the result stays in the build cache); without one it
// lists the daemon's workers. It leaves the machine running: 'buildkit-machine stop NAME' stops it.

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildctl;
import buildkitmachine.exec.Program;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.StartOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

class start_and_build {
    public static void main(String[] args) {
        Host host = Host.current(new Log(new PrintWriter(System.err, true), Log.Level.NORMAL));
        try {
            run(host, args);
        } catch (MachineException e) {
            System.err.println("start-and-build: " + e.getMessage());
            System.exit(e.exitCode().code());
        }
    }

    static void run(Host host, String[] args) {
        Machine machine = Machine.named(host, args.length > 0 ? args[0] : Machine.DEFAULT_NAME);
        Path socket = machine.folder().resolve("example.sock");
        StartOptions options = StartOptions.defaults().at(List.of(new Endpoint.Unix(socket)));
        try (Machine.Started started = machine.startAttached(options)) {
            System.out.println("buildkitd answers on " + started.buildkitHost() + ", platforms "
                    + String.join(", ", started.platforms()));
            Buildctl buildctl = new Buildctl(host, started.buildkitHost());
            if (buildctl.program().find().isEmpty()) {
                System.out.println("buildctl is not installed; the probe above is all this example can show");
                return;
            }
            List<String> command = args.length > 1
                    ? List.of("build", "--frontend", "dockerfile.v0", "--local", "context=" + args[1],
                            "--local", "dockerfile=" + args[1])
                    : List.of("debug", "workers");
            Program.Result result = buildctl.run(command, Duration.ofMinutes(30)).orFail();
            System.out.print(result.stdout());
            System.err.print(result.stderr());
        }
    }
}
