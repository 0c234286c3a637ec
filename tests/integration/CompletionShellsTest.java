package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.cli.Cli;
import buildkitmachine.cli.FishCompletion;
import buildkitmachine.exec.Program;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import support.CliRunner;

/**
 * The completion scripts in the real shells: bash and zsh run the script's completion function as they would on
 * Tab, fish answers {@code complete -C}. A shell that is not installed skips its tests, saying so.
 */
class CompletionShellsTest {
    /** Sources the script ($1), then completes the words after it as bash would, one candidate a line. */
    private static final String BASH_DRIVER = """
            source "$1"; shift
            completer=$(complete -p buildkit-machine | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            "$completer" 2>/dev/null
            printf '%s\\n' "${COMPREPLY[@]}"
            """;

    /** Types a line ($4) and Tab into an interactive zsh set up by $1 with the script ($3) installed as $2 says. */
    private static final String ZSH_TYPIST = """
            zmodload zsh/zpty || exit 3
            zpty z zsh -f -i
            zpty -w z "source ${(q)1} ${(q)2} ${(q)3}"
            zpty -w -n z "$4"$'\\t'
            while zpty -r z chunk; do print -rn -- "$chunk"; done
            """;

    /** Sourced in that zsh: installs the script ($2) by sourcing it or through fpath ($1), and reports matches. */
    private static final String ZSH_SETUP = """
            PROMPT= RPROMPT=
            if [[ $1 == fpath ]]; then fpath=(${2:h} $fpath); fi
            autoload -U compinit && compinit -u -D
            if [[ $1 == source ]]; then source $2; fi
            bindkey '^I' complete-word
            compadd() {
              if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
              local -a hits
              builtin compadd -O hits "$@"
              local hit
              for hit in $hits; do print -r -- "<hit>$hit</hit>"; done
              builtin compadd "$@"
            }
            comppostfuncs=(exit)
            """;

    private static final Pattern HIT = Pattern.compile("<hit>(.*?)</hit>");

    @TempDir
    Path scratch;

    /** A folder to complete file names in, holding a template and a text file. */
    Path folder() throws IOException {
        Path folder = Files.createDirectories(scratch.resolve("work"));
        Files.writeString(folder.resolve("template.yaml"), "images: []\n");
        Files.writeString(folder.resolve("notes.txt"), "-\n");
        return folder;
    }

    /** The script of a shell, as {@code buildkit-machine completion SHELL} prints it, in a file of its own. */
    Path script(String shell, String fileName) throws IOException {
        Map<String, String> env = Map.of("PATH", scratch.resolve("bin").toString(), "HOME", scratch.toString());
        CliRunner.Run completion = new CliRunner(env, scratch).run("completion", shell);
        assertThat(completion.code()).as(completion.toString()).isZero();
        Path folder = Files.createDirectories(scratch.resolve(shell));
        return Files.writeString(folder.resolve(fileName), completion.out());
    }

    /** The shell on PATH; the test is skipped, with the reason, when it is not installed. */
    static Path shell(String name) {
        Path found = Program.findOnPath(name, System.getenv().getOrDefault("PATH", "")).orElse(null);
        Assumptions.assumeTrue(found != null, name + " is not installed: apt-get install " + name);
        return found;
    }

    /** What a program printed and how it ended. */
    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    /** Runs a program in a folder with no input; fails the test if it hangs. */
    Result run(Path folder, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(scratch, "out", ".txt");
        Path err = Files.createTempFile(scratch, "err", ".txt");
        Process process = new ProcessBuilder(command).directory(folder.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean done = process.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor();
        }
        Result result = new Result(done ? process.exitValue() : -1, Files.readString(out), Files.readString(err));
        assertThat(done).as("finished in time: " + command + "\n" + result).isTrue();
        return result;
    }

    /** The candidates bash's completion function offers for these words (the last one is being typed). */
    List<String> bash(Path script, Path folder, String... words) throws IOException, InterruptedException {
        Path driver = Files.writeString(scratch.resolve("drive.bash"), BASH_DRIVER);
        List<String> command = new ArrayList<>(List.of(shell("bash").toString(), "--norc", "--noprofile",
                driver.toString(), script.toString(), "buildkit-machine"));
        command.addAll(List.of(words));
        Result result = run(folder, command);
        assertThat(result.code()).as(result.toString()).isZero();
        return result.lines();
    }

    @Test
    void bashCompletesCommandsOptionsAndTheirValues() throws IOException, InterruptedException {
        Path script = script("bash", "buildkit-machine.bash");
        Path folder = folder();

        assertThat(bash(script, folder, "st")).containsExactlyInAnyOrder("start", "status", "stop");
        assertThat(bash(script, folder, "start", "--dr")).containsExactly("--driver");
        assertThat(bash(script, folder, "start", "--driver", "")).containsExactlyInAnyOrder("lima", "local", "ssh");
        assertThat(bash(script, folder, "completion", "")).containsExactlyInAnyOrder("bash", "zsh", "fish");
        assertThat(bash(script, folder, "start", "--template", "tem")).containsExactly("template.yaml");
    }

    @Test
    void bashOffersAnOptionOnlyAfterItsCommand() throws IOException, InterruptedException {
        Path script = script("bash", "buildkit-machine.bash");
        Path folder = folder();

        assertThat(bash(script, folder, "stop", "--dr")).isEmpty();
        assertThat(bash(script, folder, "stop", "--")).contains("--verbose", "--quiet").doesNotContain("--driver");
        assertThat(bash(script, folder, "list", "--")).contains("--json").doesNotContain("--unix");
    }

    /** Runs zsh -f with compinit loaded, sources the script, and prints what it registered for buildkit-machine. */
    String zshRegistered(Path script, boolean compinitFirst) throws IOException, InterruptedException {
        String setup = compinitFirst ? "autoload -U compinit && compinit -u -D; " : "";
        Result result = run(scratch, List.of(shell("zsh").toString(), "-f", "-c",
                setup + "source \"$1\" && print -r -- \"${_comps[buildkit-machine]-}\"", "zsh", script.toString()));
        assertThat(result.code()).as(result.toString()).isZero();
        return result.out().strip();
    }

    @Test
    void zshRegistersTheCompletionWhenSourcedAfterCompinitOrWithout() throws IOException, InterruptedException {
        Path script = script("zsh", "buildkit-machine.zsh");

        assertThat(zshRegistered(script, true)).startsWith("_bash_complete -F ");
        assertThat(zshRegistered(script, false)).startsWith("_bash_complete -F ");
    }

    /** The matches an interactive zsh offers when the line is typed and Tab pressed. */
    List<String> zsh(String installedBy, Path script, String line) throws IOException, InterruptedException {
        Path typist = Files.writeString(scratch.resolve("typist.zsh"), ZSH_TYPIST);
        Path setup = Files.writeString(scratch.resolve("setup.zsh"), ZSH_SETUP);
        Result result = run(scratch, List.of(shell("zsh").toString(), "-f", typist.toString(), setup.toString(),
                installedBy, script.toString(), line));
        Assumptions.assumeTrue(result.code() != 3, "zsh has no zsh/zpty module to type into an interactive zsh");
        return HIT.matcher(result.out()).results().map(m -> m.group(1)).toList();
    }

    @Test
    void zshCompletesOnTabWhenSourced() throws IOException, InterruptedException {
        Path script = script("zsh", "buildkit-machine.zsh");

        assertThat(zsh("source", script, "buildkit-machine st")).containsExactlyInAnyOrder("start", "status", "stop");
        assertThat(zsh("source", script, "buildkit-machine start --driver "))
                .containsExactlyInAnyOrder("lima", "local", "ssh");
        assertThat(zsh("source", script, "buildkit-machine stop --dr")).isEmpty();
    }

    @Test
    void zshCompletesOnTheFirstTabFromFpath() throws IOException, InterruptedException {
        Path script = script("zsh", "_buildkit-machine");

        assertThat(zsh("fpath", script, "buildkit-machine st")).containsExactlyInAnyOrder("start", "status", "stop");
        assertThat(zsh("fpath", script, "buildkit-machine start --dr")).containsExactly("--driver");
    }

    /** What fish's {@code complete -C} answers for a line, after sourcing the script: candidate, tab, description. */
    List<String> fish(Path script, Path folder, String line) throws IOException, InterruptedException {
        Result result = run(folder, List.of(shell("fish").toString(), "--no-config", "-c",
                "source $argv[1]; and complete -C $argv[2]", script.toString(), line));
        assertThat(result.code()).as(result.toString()).isZero();
        assertThat(result.err()).as(result.toString()).isEmpty();
        return result.lines();
    }

    /** The candidates alone, without their descriptions. */
    static List<String> candidates(List<String> lines) {
        return lines.stream().map(l -> l.split("\t", 2)[0]).toList();
    }

    @Test
    void fishListsCommandsWithTheirDescriptions() throws IOException, InterruptedException {
        Path script = script("fish", "buildkit-machine.fish");

        List<String> lines = fish(script, folder(), "buildkit-machine st");

        assertThat(candidates(lines)).containsExactlyInAnyOrder("start", "status", "stop");
        assertThat(lines).contains("stop\tClose the machine's endpoints and stop its VM",
                "start\tCreate the machine if needed, start it, and offer its buildkitd on the host");
    }

    @Test
    void fishCompletesOptionValuesAndFilesForPathsOnly() throws IOException, InterruptedException {
        Path script = script("fish", "buildkit-machine.fish");
        Path folder = folder();

        assertThat(candidates(fish(script, folder, "buildkit-machine start --dr"))).containsExactly("--driver");
        assertThat(candidates(fish(script, folder, "buildkit-machine start --driver ")))
                .containsExactlyInAnyOrder("lima", "local", "ssh");
        assertThat(candidates(fish(script, folder, "buildkit-machine completion ")))
                .containsExactlyInAnyOrder("bash", "zsh", "fish");
        assertThat(candidates(fish(script, folder, "buildkit-machine start --template tem")))
                .containsExactly("template.yaml");
        assertThat(fish(script, folder, "buildkit-machine start --tcp tem")).isEmpty();
        assertThat(fish(script, folder, "buildkit-machine start tem")).isEmpty();
    }

    @Test
    void fishOffersAnOptionOnlyAfterItsCommand() throws IOException, InterruptedException {
        Path script = script("fish", "buildkit-machine.fish");
        Path folder = folder();

        assertThat(candidates(fish(script, folder, "buildkit-machine start --"))).contains("--driver", "--unix");
        assertThat(candidates(fish(script, folder, "buildkit-machine stop --")))
                .contains("--verbose", "--quiet", "--help").doesNotContain("--driver", "--unix");
        assertThat(fish(script, folder, "buildkit-machine stop start --d")).as("a machine named start").isEmpty();
        assertThat(candidates(fish(script, folder, "buildkit-machine ls --j"))).containsExactly("--json");
        assertThat(candidates(fish(script, folder, "buildkit-machine --"))).doesNotContain("--driver", "--verbose");
    }

    @Test
    void fishFollowsNestedCommandsAndLeavesHiddenOnesOut() throws IOException, InterruptedException {
        CommandLine tree = new Cli(Map.of(), scratch).commandLine(new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter()));
        CommandSpec inner = CommandSpec.create().name("inner");
        inner.addOption(OptionSpec.builder("--deep").description("Deep down.").build());
        tree.addSubcommand("outer", new CommandLine(CommandSpec.create().name("outer"))
                .addSubcommand("inner", new CommandLine(inner)));
        CommandSpec secret = CommandSpec.create().name("secret-command");
        secret.usageMessage().hidden(true);
        tree.addSubcommand("secret-command", new CommandLine(secret));
        Path script = Files.writeString(scratch.resolve("grown.fish"), FishCompletion.script(tree));

        assertThat(candidates(fish(script, scratch, "buildkit-machine outer "))).containsExactly("inner");
        assertThat(fish(script, scratch, "buildkit-machine outer inner --d")).containsExactly("--deep\tDeep down");
        assertThat(fish(script, scratch, "buildkit-machine outer --d")).isEmpty();
        assertThat(candidates(fish(script, scratch, "buildkit-machine "))).contains("outer", "start")
                .doesNotContain("secret-command", "inner");
    }
}
