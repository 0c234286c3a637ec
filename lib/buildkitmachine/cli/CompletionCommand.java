package buildkitmachine.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "completion",
        description = {"Print the completion script of bash, zsh or fish on stdout.",
            "It completes the commands, their options, and values such as --driver lima, local or ssh; it is made "
                    + "from the commands themselves, so print it again after an update."},
        footer = {"", "Install it:",
            "  bash  add this line to ~/.bashrc:",
            "          source <(buildkit-machine completion bash)",
            "        or, with bash-completion, save it once (no Java starts with each shell):",
            "          buildkit-machine completion bash \\",
            "            > ~/.local/share/bash-completion/completions/buildkit-machine",
            "  zsh   add this line to ~/.zshrc:",
            "          source <(buildkit-machine completion zsh)",
            "        or save it in a folder of $fpath that ~/.zshrc adds before compinit:",
            "          buildkit-machine completion zsh > ~/.zfunc/_buildkit-machine",
            "  fish  save it once:",
            "          buildkit-machine completion fish \\",
            "            > ~/.config/fish/completions/buildkit-machine.fish",
            "Open a new shell afterwards.",
            "", "Example:", "  source <(buildkit-machine completion bash)"})
final class CompletionCommand extends MachineCommand {
    /** The shells there is a script for, named as users type them. */
    enum Shell { bash, zsh, fish }

    @Parameters(paramLabel = "SHELL", description = "The shell: ${COMPLETION-CANDIDATES}.")
    Shell shell;

    @Override
    public Integer call() {
        CommandLine root = spec.root().commandLine();
        out().print(switch (shell) {
            case bash -> AutoComplete.bash(root.getCommandName(), root);
            case zsh -> zsh(root);
            case fish -> FishCompletion.script(root);
        });
        out().flush();
        return 0;
    }

    /**
     * picocli's bash script, which loads compinit and bashcompinit itself when sourced in zsh. The #compdef line and
     * the tail make the same file work from a folder of fpath, where zsh runs it as a function on the first Tab.
     */
    private static String zsh(CommandLine root) {
        String name = root.getCommandName();
        String bash = AutoComplete.bash(name, root);
        String body = bash.startsWith("#!") ? bash.substring(bash.indexOf('\n') + 1) : bash;
        return "#compdef " + name + "\n" + body + "\n"
                + "# Loaded from fpath as _" + name + " on the first Tab: the lines above set up the next ones;\n"
                + "# complete this first one too.\n"
                + "if [[ ${funcstack[1]-} == _" + name + " ]]; then\n"
                + "  _bash_complete -F _complete_" + name + " -o default\n"
                + "fi\n";
    }
}
