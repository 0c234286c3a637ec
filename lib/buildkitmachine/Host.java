package buildkitmachine;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The computer the tool runs on, as the tool sees it: its environment (PATH, HOME, LIMA_HOME), the folder that holds
 * machine state, and where diagnostics go. Tests and scripts build their own instead of touching the process's.
 */
public record Host(Map<String, String> env, Path stateHome, Log log) {
    /** Overrides the state folder, default {@code ~/.buildkit-machine}. */
    public static final String STATE_HOME_VARIABLE = "BUILDKIT_MACHINE_HOME";

    public Host {
        env = Map.copyOf(env);
        stateHome = stateHome.toAbsolutePath().normalize();
    }

    /** The host of this process, printing diagnostics to the given log. */
    public static Host current(Log log) {
        return of(System.getenv(), log);
    }

    /** A host with the given environment; the state folder follows {@link #STATE_HOME_VARIABLE} or HOME. */
    public static Host of(Map<String, String> env, Log log) {
        return new Host(env, stateHomeFrom(env), log);
    }

    private static Path stateHomeFrom(Map<String, String> env) {
        String explicit = env.get(STATE_HOME_VARIABLE);
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        return Path.of(home, ".buildkit-machine");
    }

    /** The same host with another log. */
    public Host withLog(Log other) {
        return new Host(env, stateHome, other);
    }

    /** Whether this is macOS, where socket paths are shorter and Lima is the only driver. */
    public static boolean isMacOs() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("mac");
    }

    /** The longest unix socket path the kernel takes, in bytes without the final NUL. */
    public static int maxSocketPathBytes() {
        return isMacOs() ? 103 : 107;
    }
}
