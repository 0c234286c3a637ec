package buildkitmachine;

import picocli.CommandLine.IVersionProvider;

/** The toolkit's release, for {@code --version} and for templates that need a newer toolkit. */
public final class BuildInfo implements IVersionProvider {
    /** The version of this toolkit. */
    public static final String VERSION = "0.2.0";

    @Override
    public String[] getVersion() {
        return new String[] {"buildkit-machine " + VERSION};
    }
}
