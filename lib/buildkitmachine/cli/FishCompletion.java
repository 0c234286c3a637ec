package buildkitmachine.cli;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Writes a fish completion script from picocli's model of a command tree, since picocli generates one for bash only.
 * Each command's subcommands and options are offered only once that command is typed; hidden ones never are.
 */
public final class FishCompletion {
    /** Words fish reads as themselves without quotes. */
    private static final Pattern BARE = Pattern.compile("[A-Za-z0-9_./:=@+,-]+");
    /** The end of a sentence: a full stop before the next sentence's capital, not the one in "e.g. 90s". */
    private static final Pattern SENTENCE_END = Pattern.compile("\\.\\s+(?=[A-Z])");

    private final String program;
    private final String functions;
    private final List<String> cases = new ArrayList<>();
    private final List<String> completions = new ArrayList<>();

    private FishCompletion(String program) {
        this.program = program;
        this.functions = "__" + program.replaceAll("[^A-Za-z0-9]", "_");
    }

    /** The script for this tree; it completes the command the root is named after. */
    public static String script(CommandLine root) {
        FishCompletion fish = new FishCompletion(root.getCommandName());
        fish.walk(List.of(), root);
        return fish.render();
    }

    /** Collects what one command offers, then does the same for each of its visible subcommands. */
    private void walk(List<String> path, CommandLine command) {
        CommandSpec spec = command.getCommandSpec();
        String condition = quote(String.join(" ", Stream.concat(Stream.of(functions + "_at"),
                path.stream().map(FishCompletion::quote)).toList()));
        spec.options().stream().filter(o -> !o.hidden()).forEach(o -> completions.add(option(condition, o)));
        spec.positionalParameters().stream().filter(p -> !p.hidden()).forEach(p -> positional(condition, p));
        for (CommandLine sub : visibleSubcommands(command)) {
            subcommand(path, condition, sub);
        }
    }

    /** Offers a subcommand where its parent is typed, teaches the path function its names, and goes into it. */
    private void subcommand(List<String> path, String condition, CommandLine sub) {
        CommandSpec spec = sub.getCommandSpec();
        completions.add(complete(condition) + " -a " + quote(spec.name())
                + described(spec.usageMessage().description()));
        List<String> subPath = Stream.concat(path.stream(), Stream.of(spec.name())).toList();
        cases.add(caseOf(path, spec, subPath));
        walk(subPath, sub);
    }

    /** Each subcommand once, though picocli lists it under each of its aliases too. */
    private static Set<CommandLine> visibleSubcommands(CommandLine command) {
        Set<CommandLine> visible = new LinkedHashSet<>();
        command.getSubcommands().values().stream().filter(c -> !c.getCommandSpec().usageMessage().hidden())
                .forEach(visible::add);
        return visible;
    }

    /** The branch of the path function that steps into a subcommand, by its name or any alias. */
    private String caseOf(List<String> path, CommandSpec sub, List<String> subPath) {
        String typed = String.join(" ", path) + "/";
        String patterns = String.join(" ", Stream.concat(Stream.of(sub.name()), Arrays.stream(sub.aliases()))
                .map(name -> quote(typed + name)).toList());
        return "            case " + patterns + "\n                set command "
                + String.join(" ", subPath.stream().map(FishCompletion::quote).toList()) + "\n";
    }

    private String complete(String condition) {
        return "complete -c " + quote(program) + " -n " + condition;
    }

    /** One option with all its names, whether it takes a value, and which values. */
    private String option(String condition, OptionSpec option) {
        StringBuilder line = new StringBuilder(complete(condition));
        for (String name : option.names()) {
            line.append(flag(name));
        }
        if (option.arity().max() > 0) {
            line.append(" -r").append(values(option));
        }
        return line.append(described(option.renderedDescription())).toString();
    }

    /** fish's flag for an option name: -l for --long, -s for -x, -o for other single-dash names. */
    private static String flag(String name) {
        if (name.startsWith("--")) {
            return " -l " + quote(name.substring(2));
        }
        return (name.length() == 2 ? " -s " : " -o ") + quote(name.substring(1));
    }

    /** A positional parameter offers its candidates, or files when it is a path; else nothing. */
    private void positional(String condition, PositionalParamSpec parameter) {
        if (parameter.completionCandidates() != null || isFile(parameter)) {
            completions.add(complete(condition) + values(parameter) + described(parameter.renderedDescription()));
        }
    }

    /** The values an option or parameter takes: its candidates, files for a path, else nothing to suggest. */
    private static String values(ArgSpec arg) {
        Iterable<String> candidates = arg.completionCandidates();
        if (candidates != null) {
            return " -f -a " + quote(String.join(" ", StreamSupport.stream(candidates.spliterator(), false)
                    .map(FishCompletion::quote).toList()));
        }
        return isFile(arg) ? " -F" : " -f";
    }

    private static boolean isFile(ArgSpec arg) {
        return Stream.concat(Stream.of(arg.type()), Arrays.stream(arg.auxiliaryTypes()))
                .anyMatch(t -> Path.class.isAssignableFrom(t) || File.class.isAssignableFrom(t));
    }

    /** fish's -d with the description's first sentence, which is what fits beside a candidate. */
    private static String described(String[] description) {
        if (description.length == 0 || description[0].isBlank()) {
            return "";
        }
        String sentence = SENTENCE_END.split(description[0].strip(), 2)[0];
        return " -d " + quote(sentence.endsWith(".") ? sentence.substring(0, sentence.length() - 1) : sentence);
    }

    /** The script: no files unless a path is asked for, the functions that find the command typed, the lines. */
    private String render() {
        StringBuilder script = new StringBuilder();
        script.append("# fish completion for ").append(program).append(", generated from its command model.\n")
                .append("# Install: ").append(program).append(" completion fish > ~/.config/fish/completions/")
                .append(program).append(".fish\n")
                .append("complete -c ").append(quote(program)).append(" -e\n")
                .append("complete -c ").append(quote(program)).append(" -f\n\n");
        script.append("function ").append(functions).append("_command")
                .append(" --description 'Prints the subcommand typed so far, e.g. start'\n")
                .append("    set -l words (commandline -opc)\n    set -e words[1]\n    set -l command\n")
                .append("    for word in $words\n        switch \"$command/$word\"\n");
        cases.forEach(script::append);
        script.append("        end\n    end\n    echo $command\nend\n\n");
        script.append("function ").append(functions).append("_at")
                .append(" --description 'Whether the subcommand typed so far is the one given'\n")
                .append("    set -l typed (").append(functions).append("_command)\n")
                .append("    test \"$argv\" = \"$typed\"\nend\n\n");
        completions.forEach(line -> script.append(line).append('\n'));
        return script.toString();
    }

    /** A word as fish reads it back unchanged: bare when it is plain, else in single quotes. */
    static String quote(String word) {
        if (BARE.matcher(word).matches()) {
            return word;
        }
        return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
