package support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Boot scripts for the limactl double's guest: what Lima's boot scripts and systemd user units would start in a real
 * VM. buildkitd's socket goes where Lima's rootless BuildKit puts it, and its log where the toolkit's own way of
 * starting buildkitd writes it, so that the toolkit finds both as it would in a real guest.
 */
public final class GuestBoot {
    private static final String PREAMBLE = String.join("\n",
            "#!/bin/sh",
            "set -e",
            "logdir=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine\"",
            "mkdir -p \"$logdir\" \"$XDG_RUNTIME_DIR/buildkit-default\"",
            "sock=\"$XDG_RUNTIME_DIR/buildkit-default/buildkitd.sock\"",
            "");

    private GuestBoot() {
    }

    /** Starts the fake buildkitd (a double of buildkitd's gRPC contract) with extra options, e.g. a delay. */
    public static Path fakeBuildkitd(TestSshd sshd, String extraOptions) {
        Path program = copyFake(sshd);
        return sshd.guestFile("boot-fake-" + Math.abs(extraOptions.hashCode()) + ".sh", PREAMBLE
                + "exec java " + program + " --addr \"unix://$sock\" " + extraOptions
                + " >\"$logdir/buildkitd.log\" 2>&1\n", true);
    }

    /** Writes a log line and then never offers a socket, like a buildkitd that fails to start. */
    public static Path brokenDaemon(TestSshd sshd) {
        return sshd.guestFile("boot-broken.sh", PREAMBLE
                + "echo 'buildkitd: failed to create worker: this is the fake failure' >\"$logdir/buildkitd.log\"\n"
                + "exec sleep 3600\n", true);
    }

    /** A real rootless buildkitd under rootlesskit, as Lima's user-mode containerd setup runs it. */
    public static Path rootlessBuildkitd(TestSshd sshd, Path buildkitd, Path rootlesskit) {
        return rootlessBuildkitd(sshd, buildkitd, rootlesskit, "");
    }

    /** The same, with more buildkitd options, e.g. another {@code --addr}. */
    public static Path rootlessBuildkitd(TestSshd sshd, Path buildkitd, Path rootlesskit, String extraOptions) {
        return sshd.guestFile("boot-rootless.sh", PREAMBLE
                // runc lives in /usr/sbin, which an ordinary user's PATH lacks.
                + "PATH=\"$PATH:/usr/sbin:/sbin\"; export PATH\n"
                + "exec " + rootlesskit + " --net=host --copy-up=/etc --disable-host-loopback " + buildkitd
                + " --addr \"unix://$sock\" --root \"$XDG_RUNTIME_DIR/buildkit-root\"" + extraOptions
                + " >\"$logdir/buildkitd.log\" 2>&1\n", true);
    }

    private static Path copyFake(TestSshd sshd) {
        try {
            String source = Files.readString(LimaDouble.doublesDir().resolve("FakeBuildkitd.java"));
            return sshd.guestFile("FakeBuildkitd.java", source, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
