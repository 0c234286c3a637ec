package buildkitmachine.buildkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Building for other architectures by emulation: the kernel runs foreign binaries through qemu when binfmt_misc
 * has a handler for them, and buildkitd offers every platform it finds a handler for when it starts.
 */
public final class Emulation {
    private static final Map<String, String> QEMU = Map.of("amd64", "x86_64", "arm64", "aarch64", "arm", "arm",
            "riscv64", "riscv64", "ppc64le", "ppc64le", "s390x", "s390x", "386", "i386", "mips64le", "mips64el",
            "mips64", "mips64", "loong64", "loongarch64");
    private static final Path BINFMT = Path.of("/proc/sys/fs/binfmt_misc");

    private Emulation() {
    }

    /** qemu's names for these architectures as platforms name them, e.g. arm64 → aarch64. */
    public static List<String> qemuNames(List<String> arches) {
        return arches.stream().map(a -> QEMU.getOrDefault(a, a)).toList();
    }

    /** The architectures this host has no emulator for. */
    public static List<String> missingHere(List<String> arches) {
        return arches.stream().filter(a -> !Files.exists(BINFMT.resolve("qemu-" + QEMU.getOrDefault(a, a))))
                .toList();
    }
}
