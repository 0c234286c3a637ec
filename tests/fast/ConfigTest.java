package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.config.BuildkitdConfig;
import buildkitmachine.config.Config;
import buildkitmachine.machine.MachineRecord;
import buildkitmachine.machine.MachineStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import support.CliRunner;

/** The YAML configuration: precedence, origins, checking with file, line and column, and buildkitd.toml. */
class ConfigTest {
    @TempDir
    Path home;

    private Host host() {
        return Host.of(Map.of("BUILDKIT_MACHINE_HOME", home.toString(), "PATH", "/nonexistent"), Log.silent());
    }

    private CliRunner cli() {
        return new CliRunner(Map.of("BUILDKIT_MACHINE_HOME", home.toString(), "PATH", "/nonexistent",
                "HOME", home.toString()), home);
    }

    @Test
    void aMachineFileWinsOverTheDefaultsAndEachValueSaysWhereItCameFrom() throws IOException {
        Files.writeString(home.resolve("config.yaml"), "vm:\n  cpus: 2\nbuildkitd:\n  debug: true\n");
        Files.createDirectories(home.resolve("arm"));
        Files.writeString(home.resolve("arm/config.yaml"), "# mine\nvm:\n  cpus: 8\n");

        Config config = Config.load(host(), "arm");

        assertThat(config.get("vm.cpus").value().asInt()).isEqualTo(8);
        assertThat(config.get("vm.cpus").origin()).isEqualTo(home.resolve("arm/config.yaml") + ":3:9");
        assertThat(config.get("buildkitd.debug").origin()).isEqualTo(home.resolve("config.yaml") + ":4:10");
        assertThat(config.get("buildkitd.gc.enabled").origin()).isEqualTo(Config.BUILT_IN);
        assertThat(config.vm().cpus()).isEqualTo(8);
        assertThat(config.buildkitd().debug()).isTrue();
        assertThat(Config.load(host(), "other").vm().cpus()).isEqualTo(2);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "an unknown key                 | vm:\\n  cpu: 2                       | :2:3: 'vm.cpu' is not a setting",
        "a number for a flag            | buildkitd:\\n  debug: 1              | :2:10: buildkitd.debug must be true",
        "text for a count               | buildkitd:\\n  maxParallelism: many  | :2:19: buildkitd.maxParallelism must",
        "a section given as a value     | buildkitd: 3                         | :1:1: 'buildkitd' holds settings",
        "broken YAML                    | vm:\\n  cpus: [2                     | :2:11: is not valid YAML",
        "a list for the whole file      | - vm                                 | :1:1: the file must hold settings",
        "a mirror that is no host       | buildkitd:\\n  mirrors: {docker.io: [a b]} |"
                + " :2:12: buildkitd.mirrors for docker.io",
        "a size that is no size         | buildkitd:\\n  gc:\\n    keepStorage: lots |"
                + " :3:18: buildkitd.gc.keepStorage must be a size"})
    void aBrokenFileIsReportedWithFileLineAndColumnAndChangesNothing(String reason, String yaml, String says)
            throws IOException {
        Path file = home.resolve("config.yaml");
        Files.writeString(file, yaml.replace("\\n", "\n"));

        CliRunner.Run shown = cli().run("config");
        CliRunner.Run started = cli().run("start", "--driver", "lima");

        assertThat(shown.code()).as(reason).isEqualTo(2);
        assertThat(shown.err().strip()).as(reason).startsWith("buildkit-machine: error: " + file + says.strip());
        assertThat(shown.err().lines()).hasSize(1);
        assertThat(started.code()).isEqualTo(2);
        assertThat(started.err()).contains(file + says.strip());
        assertThat(Files.readString(file)).isEqualTo(yaml.replace("\\n", "\n"));
        assertThat(new MachineStore(home).names()).isEmpty();
    }

    @Test
    void setKeepsTheOtherSettingsAndUnsetBringsBackTheDefault() throws IOException {
        assertThat(cli().run("config", "set", "buildkitd.maxParallelism", "3").code()).isZero();
        assertThat(cli().run("config", "set", "buildkitd.mirrors", "{docker.io: [mirror.gcr.io]}").code()).isZero();
        assertThat(cli().run("config", "set", "-m", "arm", "buildkitd.insecureRegistries", "[registry.lan:5000]")
                .code()).isZero();

        Config config = Config.load(host(), "arm");
        assertThat(config.buildkitd().maxParallelism()).isEqualTo(3);
        assertThat(config.buildkitd().mirrors()).isEqualTo(Map.of("docker.io", List.of("mirror.gcr.io")));
        assertThat(config.buildkitd().insecureRegistries()).containsExactly("registry.lan:5000");
        assertThat(Config.load(host(), "other").buildkitd().insecureRegistries()).isEmpty();

        assertThat(cli().run("config", "unset", "buildkitd.maxParallelism").code()).isZero();
        assertThat(Config.load(host(), "arm").get("buildkitd.maxParallelism").isSet()).isFalse();
        assertThat(Config.load(host(), "arm").buildkitd().mirrors()).containsKey("docker.io");
    }

    @Test
    void showingPrintsEverySettingWithItsOriginAndJsonToo() throws IOException {
        cli().run("config", "set", "vm.memory", "6");

        CliRunner.Run text = cli().run("config");
        CliRunner.Run json = cli().run("config", "--json");

        assertThat(text.code()).isZero();
        assertThat(text.out()).contains("vm.memory").contains(home.resolve("config.yaml") + ":2:11")
                .contains("buildkitd.insecureRegistries");
        JsonNode tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        assertThat(tree.path("settings").path("vm.memory").path("value").asDouble()).isEqualTo(6.0);
        assertThat(tree.path("settings").path("buildkitd.debug").path("from").asText()).isEqualTo("default");
    }

    @Test
    void buildkitdTomlCarriesEverySettingForLimasContainerdWorker() throws IOException {
        BuildkitdConfig settings = new BuildkitdConfig(true, 4, true, "20GB",
                Map.of("docker.io", List.of("mirror.gcr.io")), List.of("registry.lan:5000"));

        JsonNode toml = new TomlMapper().readTree(settings.toml(BuildkitdConfig.Worker.CONTAINERD));

        assertThat(toml.path("debug").asBoolean()).isTrue();
        assertThat(toml.at("/worker/oci/enabled").asBoolean(true)).isFalse();
        assertThat(toml.at("/worker/containerd/enabled").asBoolean()).isTrue();
        assertThat(toml.at("/worker/containerd/rootless").asBoolean()).isTrue();
        assertThat(toml.at("/worker/containerd/max-parallelism").asInt()).isEqualTo(4);
        assertThat(toml.at("/worker/containerd/maxUsedSpace").asText()).isEqualTo("20GB");
        assertThat(toml.path("registry").path("docker.io").path("mirrors").get(0).asText())
                .isEqualTo("mirror.gcr.io");
        assertThat(toml.path("registry").path("registry.lan:5000").path("http").asBoolean()).isTrue();
        assertThat(toml.path("registry").path("registry.lan:5000").path("insecure").asBoolean()).isTrue();
    }

    @Test
    void theOciWorkerIsLeftOnAndTheSameSettingsGiveTheSameText() throws IOException {
        BuildkitdConfig settings = new BuildkitdConfig(false, null, true, null, Map.of(), List.of());

        String text = settings.toml(BuildkitdConfig.Worker.OCI);
        JsonNode toml = new TomlMapper().readTree(text);

        assertThat(settings.isDefault()).isTrue();
        assertThat(toml.at("/worker/oci/enabled").isMissingNode()).isTrue();
        assertThat(toml.has("registry")).isFalse();
        assertThat(text).startsWith(BuildkitdConfig.HEADER)
                .isEqualTo(new BuildkitdConfig(false, null, true, null, Map.of(), List.of())
                        .toml(BuildkitdConfig.Worker.OCI));
    }

    @Test
    void forgettingAMachineKeepsTheConfigurationTheUserWrote() throws IOException {
        MachineStore store = new MachineStore(home);
        store.write(MachineRecord.fresh("arm", "lima"));
        Files.writeString(home.resolve("arm/config.yaml"), "vm:\n  cpus: 8\n");

        store.forget("arm");

        assertThat(store.names()).isEmpty();
        assertThat(home.resolve("arm/config.yaml")).hasContent("vm:\n  cpus: 8\n");
        assertThat(home.resolve("arm/machine.json")).doesNotExist();
    }
}
