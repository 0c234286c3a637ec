///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
// Start fast: class data sharing (JBang keeps an archive per build; picocli's Java 5 classes cannot be archived,
// which the JVM would say at length) and a client compiler, since commands are short. picocli looks for Groovy's
// Closure class when it starts, and that miss opens every jar on the classpath; its documented property skips it.
//CDS
//RUNTIME_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//RUNTIME_OPTIONS -Dpicocli.disable.closures=true
//MAIN buildkit_machine
//DEPS info.picocli:picocli:4.7.7
//DEPS org.zeroturnaround:zt-exec:1.12
//DEPS com.fasterxml.jackson.core:jackson-databind:2.21.3
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.21.3
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-toml:2.21.3
//DEPS org.bouncycastle:bcpkix-jdk18on:1.87
//DEPS org.slf4j:slf4j-nop:1.7.36
//SOURCES lib/buildkitmachine/BuildInfo.java
//SOURCES lib/buildkitmachine/ExitCode.java
//SOURCES lib/buildkitmachine/Host.java
//SOURCES lib/buildkitmachine/Log.java
//SOURCES lib/buildkitmachine/MachineException.java
//SOURCES lib/buildkitmachine/buildkit/BuildCache.java
//SOURCES lib/buildkitmachine/buildkit/BuildRequest.java
//SOURCES lib/buildkitmachine/buildkit/Buildctl.java
//SOURCES lib/buildkitmachine/buildkit/Buildx.java
//SOURCES lib/buildkitmachine/buildkit/DaemonProbe.java
//SOURCES lib/buildkitmachine/buildkit/Emulation.java
//SOURCES lib/buildkitmachine/buildkit/GuestDaemon.java
//SOURCES lib/buildkitmachine/buildkit/Worker.java
//SOURCES lib/buildkitmachine/cli/BuildCommand.java
//SOURCES lib/buildkitmachine/cli/BuildctlCommand.java
//SOURCES lib/buildkitmachine/cli/BuildkitMachineCommand.java
//SOURCES lib/buildkitmachine/cli/BuildxCommand.java
//SOURCES lib/buildkitmachine/cli/Cli.java
//SOURCES lib/buildkitmachine/cli/CompletionCommand.java
//SOURCES lib/buildkitmachine/cli/ConfigCommand.java
//SOURCES lib/buildkitmachine/cli/DeleteCommand.java
//SOURCES lib/buildkitmachine/cli/DoctorCommand.java
//SOURCES lib/buildkitmachine/cli/DuCommand.java
//SOURCES lib/buildkitmachine/cli/EnvCommand.java
//SOURCES lib/buildkitmachine/cli/FishCompletion.java
//SOURCES lib/buildkitmachine/cli/InstallCommand.java
//SOURCES lib/buildkitmachine/cli/ListCommand.java
//SOURCES lib/buildkitmachine/cli/LogsCommand.java
//SOURCES lib/buildkitmachine/cli/MachineCommand.java
//SOURCES lib/buildkitmachine/cli/MachineName.java
//SOURCES lib/buildkitmachine/cli/PruneCommand.java
//SOURCES lib/buildkitmachine/cli/SshCommand.java
//SOURCES lib/buildkitmachine/cli/StartCommand.java
//SOURCES lib/buildkitmachine/cli/StatusCommand.java
//SOURCES lib/buildkitmachine/cli/StopCommand.java
//SOURCES lib/buildkitmachine/cli/Verbosity.java
//SOURCES lib/buildkitmachine/config/BuildkitdConfig.java
//SOURCES lib/buildkitmachine/config/Config.java
//SOURCES lib/buildkitmachine/config/ConfigFile.java
//SOURCES lib/buildkitmachine/config/Setting.java
//SOURCES lib/buildkitmachine/exec/Children.java
//SOURCES lib/buildkitmachine/exec/ClassArchive.java
//SOURCES lib/buildkitmachine/exec/Program.java
//SOURCES lib/buildkitmachine/exec/WriterStream.java
//SOURCES lib/buildkitmachine/install/Launcher.java
//SOURCES lib/buildkitmachine/lima/LimaInstance.java
//SOURCES lib/buildkitmachine/lima/LimaResources.java
//SOURCES lib/buildkitmachine/lima/LimaVersion.java
//SOURCES lib/buildkitmachine/lima/Limactl.java
//SOURCES lib/buildkitmachine/lima/Template.java
//SOURCES lib/buildkitmachine/machine/AtomicFile.java
//SOURCES lib/buildkitmachine/machine/Deadline.java
//SOURCES lib/buildkitmachine/machine/Doctor.java
//SOURCES lib/buildkitmachine/machine/Driver.java
//SOURCES lib/buildkitmachine/machine/Endpoint.java
//SOURCES lib/buildkitmachine/machine/Forward.java
//SOURCES lib/buildkitmachine/machine/ForwardProcess.java
//SOURCES lib/buildkitmachine/machine/ForwardState.java
//SOURCES lib/buildkitmachine/machine/LimaDriver.java
//SOURCES lib/buildkitmachine/machine/LocalDriver.java
//SOURCES lib/buildkitmachine/machine/Machine.java
//SOURCES lib/buildkitmachine/machine/MachineRecord.java
//SOURCES lib/buildkitmachine/machine/MachineStatus.java
//SOURCES lib/buildkitmachine/machine/MachineStore.java
//SOURCES lib/buildkitmachine/machine/ProcessId.java
//SOURCES lib/buildkitmachine/machine/Readiness.java
//SOURCES lib/buildkitmachine/machine/RecordReader.java
//SOURCES lib/buildkitmachine/machine/RemoteHost.java
//SOURCES lib/buildkitmachine/machine/Route.java
//SOURCES lib/buildkitmachine/machine/SocketFile.java
//SOURCES lib/buildkitmachine/machine/SshDriver.java
//SOURCES lib/buildkitmachine/machine/StartOptions.java
//SOURCES lib/buildkitmachine/machine/Startup.java
//SOURCES lib/buildkitmachine/machine/Supervisor.java
//SOURCES lib/buildkitmachine/machine/TcpRelay.java
//SOURCES lib/buildkitmachine/ssh/ShellQuote.java
//SOURCES lib/buildkitmachine/ssh/Ssh.java
//SOURCES lib/buildkitmachine/ssh/SshTarget.java
//SOURCES lib/buildkitmachine/tls/CertificateAuthority.java
//SOURCES lib/buildkitmachine/tls/TlsFiles.java
//FILES templates/buildkit.yaml=templates/buildkit.yaml

// buildkit-machine: a BuildKit daemon on your laptop, without Docker.
// The library lives in lib/; this file only pins its dependencies and hands the command line to it.

import buildkitmachine.cli.Cli;
import java.io.PrintWriter;

class buildkit_machine {
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(Cli.current().run(out, err, args));
    }
}
