package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.cli.Cli;
import buildkitmachine.cli.FishCompletion;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import support.CliRunner;
import support.CliRunner.Run;

/** The completion scripts in-process: what each shell's script names, and how a bad shell name is refused. */
class CompletionTest {
    private static final List<String> SHELLS = List.of("bash", "zsh", "fish");

    @TempDir
    Path home;

    Map<String, String> env() {
        return Map.of("PATH", home.resolve("bin").toString(), "HOME", home.toString());
    }

    Run run(String... args) {
        return new CliRunner(env(), home).run(args);
    }

    /** The command tree the scripts are made from, wired to writers nobody reads. */
    CommandLine tree() {
        return tree(new StringWriter());
    }

    /** The command tree, printing to {@code out}. */
    CommandLine tree(StringWriter out) {
        return new Cli(env(), home).commandLine(new PrintWriter(out), new PrintWriter(new StringWriter()));
    }

    /** Every subcommand's own name, as the model knows it; no alias, none hidden. */
    List<String> subcommandNames() {
        return tree().getSubcommands().values().stream().map(CommandLine::getCommandSpec).distinct()
                .filter(s -> !s.usageMessage().hidden()).map(CommandSpec::name).toList();
    }

    @Test
    void eachShellsScriptOffersEverySubcommand() {
        assertThat(subcommandNames()).contains("start", "stop", "status", "list", "completion");
        for (String shell : SHELLS) {
            Run completion = run("completion", shell);

            assertThat(completion.code()).as(shell).isZero();
            assertThat(completion.err()).as(shell).isEmpty();
            List<String> offered = shell.equals("fish") ? fishSubcommands(completion.out())
                    : bashSubcommands(completion.out());
            assertThat(offered).as(shell).containsAll(subcommandNames());
        }
    }

    /** The words the bash function of the top command offers: its first {@code local commands="…"} line. */
    private static List<String> bashSubcommands(String script) {
        Matcher commands = Pattern.compile("local commands=\"([^\"]*)\"").matcher(script);
        assertThat(commands.find()).as("a commands line").isTrue();
        return List.of(commands.group(1).split(" "));
    }

    /** The words the fish script offers where no subcommand is typed yet, each with a description. */
    private static List<String> fishSubcommands(String script) {
        Matcher offered = Pattern.compile("(?m)^complete -c buildkit-machine -n __buildkit_machine_at -a (\\S+) -d ")
                .matcher(script);
        return offered.results().map(m -> m.group(1)).toList();
    }

    @Test
    void anUnknownShellIsAUsageErrorOnOneLine() {
        Run tcsh = run("completion", "tcsh");

        assertThat(tcsh.code()).isEqualTo(2);
        assertThat(tcsh.out()).isEmpty();
        assertThat(tcsh.err().lines().toList()).hasSize(1);
        assertThat(tcsh.err()).contains("'tcsh'", "bash, zsh, fish");
    }

    @Test
    void aMissingShellIsAUsageErrorOnOneLine() {
        Run missing = run("completion");

        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.out()).isEmpty();
        assertThat(missing.err().lines().toList()).hasSize(1);
        assertThat(missing.err()).contains("SHELL");
    }

    @Test
    void stdoutCarriesTheScriptAndNothingElse() {
        String bash = AutoComplete.bash("buildkit-machine", tree());

        assertThat(run("completion", "bash").out()).isEqualTo(bash);
        assertThat(run("completion", "fish").out()).isEqualTo(FishCompletion.script(tree()));
        assertThat(run("completion", "zsh").out()).startsWith("#compdef buildkit-machine\n")
                .contains(bash.substring(bash.indexOf('\n') + 1));
        assertThat(run("completion", "zsh", "-q").out()).isEqualTo(run("completion", "zsh").out());
    }

    @Test
    void helpSaysHowToInstallItInEachShell() {
        Run help = run("completion", "--help");

        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("source <(buildkit-machine completion bash)",
                "source <(buildkit-machine completion zsh)", "_buildkit-machine",
                "buildkit-machine completion zsh > ~/.zfunc/_buildkit-machine", "buildkit-machine completion fish",
                "> ~/.config/fish/completions/buildkit-machine.fish", "Example");
        assertThat(help.out().lines()).allSatisfy(line -> assertThat(line).hasSizeLessThanOrEqualTo(80));
    }

    @Test
    void fishOffersEachOptionUnderItsOwnCommandOnly() {
        String fish = run("completion", "fish").out();

        for (String name : subcommandNames()) {
            CommandSpec command = tree().getSubcommands().get(name).getCommandSpec();
            for (OptionSpec option : command.options().stream().filter(o -> !o.hidden()).toList()) {
                assertThat(fish).as(name + " " + option.longestName())
                        .contains("-n '__buildkit_machine_at " + name + "' " + fishFlags(option));
            }
        }
        assertThat(fish.lines().filter(l -> l.contains(" -l driver "))).singleElement().asString()
                .contains("-n '__buildkit_machine_at start' -l driver -r -f -a 'lima local ssh' -d 'Where");
        assertThat(fish).contains("-l template -r -F -d", "-l tcp -r -f -d");
    }

    /** How the fish script spells an option's names: -s x for -x, -l long for --long. */
    private static String fishFlags(OptionSpec option) {
        return String.join(" ", List.of(option.names()).stream()
                .map(n -> n.startsWith("--") ? "-l " + n.substring(2) : "-s " + n.substring(1)).toList());
    }

    @Test
    void aNewOptionOrCommandReachesEveryShellAndHiddenOnesNone() {
        for (String shell : SHELLS) {
            StringWriter out = new StringWriter();
            CommandLine tree = tree(out);
            grow(tree);

            assertThat(tree.execute("completion", shell)).as(shell).isZero();
            assertThat(out.toString()).as(shell).contains("brand-new", "alpha", "extra-command")
                    .doesNotContain("secret-option", "secret-command");
        }
    }

    @Test
    void fishPutsANewOptionAndANestedCommandUnderTheirCommand() {
        CommandLine tree = tree();
        grow(tree);

        assertThat(FishCompletion.script(tree)).contains(
                "complete -c buildkit-machine -n '__buildkit_machine_at stop' -l brand-new -r -f -a 'alpha beta'"
                        + " -d 'An option the test adds'\n",
                "complete -c buildkit-machine -n '__buildkit_machine_at extra-command' -a inner -d 'A nested one'\n",
                "-n '__buildkit_machine_at extra-command inner' -l deep -d 'Deep down'\n",
                "case extra-command/inner\n", "set command extra-command inner\n");
    }

    /** Adds to the tree what a developer might: a new option, a nested command, and hidden ones. */
    static void grow(CommandLine tree) {
        CommandSpec stop = tree.getSubcommands().get("stop").getCommandSpec();
        stop.addOption(OptionSpec.builder("--brand-new").paramLabel("WORD").type(String.class)
                .completionCandidates(List.of("alpha", "beta")).description("An option the test adds.").build());
        stop.addOption(OptionSpec.builder("--secret-option").hidden(true).description("Hidden.").build());
        CommandSpec inner = CommandSpec.create().name("inner");
        inner.usageMessage().description("A nested one.");
        inner.addOption(OptionSpec.builder("--deep").description("Deep down.").build());
        CommandSpec extra = CommandSpec.create().name("extra-command");
        extra.usageMessage().description("A command the test adds.");
        extra.addSubcommand("inner", new CommandLine(inner));
        tree.addSubcommand("extra-command", new CommandLine(extra));
        CommandSpec secret = CommandSpec.create().name("secret-command");
        secret.usageMessage().hidden(true);
        tree.addSubcommand("secret-command", new CommandLine(secret));
    }
}
