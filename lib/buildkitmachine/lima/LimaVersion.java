package buildkitmachine.lima;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Lima release number, as {@code limactl --version} prints it and templates require it. */
public record LimaVersion(int major, int minor, int patch) implements Comparable<LimaVersion> {
    private static final Pattern NUMBERS = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    /** Reads the first "X.Y[.Z]" in the text, e.g. from "limactl version 2.0.3". */
    public static LimaVersion parse(String text) {
        Matcher matcher = NUMBERS.matcher(text);
        if (!matcher.find()) {
            throw new IllegalArgumentException("no version number in '" + text.strip() + "'");
        }
        String patch = matcher.group(3);
        return new LimaVersion(Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2)),
                patch == null ? 0 : Integer.parseInt(patch));
    }

    @Override
    public int compareTo(LimaVersion other) {
        int byMajor = Integer.compare(major, other.major);
        if (byMajor != 0) {
            return byMajor;
        }
        int byMinor = Integer.compare(minor, other.minor);
        return byMinor != 0 ? byMinor : Integer.compare(patch, other.patch);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + patch;
    }
}
