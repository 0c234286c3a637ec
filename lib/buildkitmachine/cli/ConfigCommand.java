package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.config.Config;
import buildkitmachine.config.ConfigFile;
import buildkitmachine.config.Setting;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.StartOptions;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "config",
        description = {"Show the settings that apply to a machine and where each comes from.",
            "Settings live in YAML: your defaults in ~/.buildkit-machine/config.yaml, one machine's in"
                    + " ~/.buildkit-machine/NAME/config.yaml; the machine's file wins. buildkitd's settings reach"
                    + " its buildkitd.toml at the next start, or at once through 'config set' on a running machine."},
        subcommands = {ConfigCommand.Set.class, ConfigCommand.Unset.class},
        footer = {"", "Examples:",
            "  buildkit-machine config",
            "  buildkit-machine config set buildkitd.insecureRegistries '[registry.lan:5000]'",
            "  buildkit-machine config set --machine arm vm.cpus 8",
            "  buildkit-machine config set buildkitd.mirrors '{docker.io: [mirror.gcr.io]}'",
            "  buildkit-machine config unset buildkitd.gc.keepStorage"})
final class ConfigCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = "--json", description = "Print the settings as JSON.")
    boolean json;

    @Override
    public Integer call() {
        Machine.checkName(name.value);
        Config config = Config.load(host(), name.value);
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("machine", name.value);
            result.put("files", config.files().stream().map(Object::toString).toList());
            Map<String, Object> settings = new LinkedHashMap<>();
            for (Setting setting : Setting.ALL) {
                Config.Value value = config.get(setting.key());
                settings.put(setting.key(), Map.of("value", value.isSet() ? value.value() : "unset",
                        "from", value.origin()));
            }
            result.put("settings", settings);
            printJson(result);
            return 0;
        }
        print(config, out());
        return 0;
    }

    private void print(Config config, PrintWriter out) {
        out.println("# machine " + name.value + "; files, later wins: " + String.join(", ",
                config.files().stream().map(Object::toString).toList()));
        for (Setting setting : Setting.ALL) {
            Config.Value value = config.get(setting.key());
            String shown = value.isSet() ? value.value().toString() : "(unset)";
            out.printf("%-30s %-28s %s%n", setting.key(), shown, value.origin());
        }
        out.flush();
    }

    /** What the set and unset commands share: the file they change, and applying the change to a running machine. */
    abstract static class Change extends MachineCommand {
        @Option(names = {"-m", "--machine"}, paramLabel = "NAME",
                description = "Change this machine's file instead of your defaults.")
        String machine;

        ConfigFile file() {
            if (machine == null) {
                return Config.defaults(host());
            }
            Machine.checkName(machine);
            return Config.ofMachine(host(), machine);
        }

        /** Restarts with the new settings every running machine they apply to; the others take them at start. */
        void apply(String key) {
            if (key.startsWith("vm.")) {
                host().log().progress(key + " applies when a machine's VM is created; existing VMs keep their size");
                return;
            }
            List<String> names = machine != null ? List.of(machine) : Machine.known(host());
            for (String each : names) {
                Config.load(host(), each);
                Machine target = machine(each);
                if (target.endpointsOpen()) {
                    host().log().progress("applying the settings to " + each + ", which is running");
                    target.start(StartOptions.defaults());
                }
            }
        }
    }

    @Command(name = "set", description = "Set one setting, checked before it is saved and applied.",
            footer = {"", "VALUE is YAML: 4, true, 20GB, [arm64], {docker.io: [mirror.gcr.io]}.",
                "Settings: ${COMPLETION-CANDIDATES}"})
    static final class Set extends Change {
        @Parameters(index = "0", paramLabel = "KEY", completionCandidates = Keys.class,
                description = "The setting, e.g. buildkitd.maxParallelism.")
        String key;

        @Parameters(index = "1", paramLabel = "VALUE", description = "Its value.")
        String value;

        @Override
        public Integer call() {
            ConfigFile file = file();
            file.set(key, ConfigFile.parseValue(value));
            host().log().progress("set " + key + " in " + file.path());
            apply(key);
            return 0;
        }
    }

    @Command(name = "unset", description = "Remove one setting from the file, so the default applies again.")
    static final class Unset extends Change {
        @Parameters(index = "0", paramLabel = "KEY", completionCandidates = Keys.class,
                description = "The setting, e.g. buildkitd.debug.")
        String key;

        @Override
        public Integer call() {
            ConfigFile file = file();
            if (!file.unset(key)) {
                throw MachineException.usage(key + " is not set in " + file.path() + "; nothing to remove");
            }
            host().log().progress("removed " + key + " from " + file.path());
            apply(key);
            return 0;
        }
    }

    static final class Keys extends java.util.ArrayList<String> {
        Keys() {
            super(Setting.ALL.stream().map(Setting::key).toList());
        }
    }
}
