package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.BuildCache;
import buildkitmachine.buildkit.BuildRequest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the docker-build-like front turns into buildctl's arguments. */
class BuildRequestTest {
    private static final Path CONTEXT = Path.of("/work/app");

    @Test
    void aPlainBuildSendsTheContextAndItsDockerfile() {
        BuildRequest request = new BuildRequest(CONTEXT, null, List.of(), List.of(), null, List.of(), false,
                List.of(), false, null, List.of());

        assertThat(request.buildctlArgs(Map.of())).containsExactly("build", "--frontend", "dockerfile.v0",
                "--local", "context=/work/app", "--local", "dockerfile=/work/app", "--opt", "filename=Dockerfile");
    }

    @Test
    void everyOptionHasItsBuildctlCounterpart() {
        BuildRequest request = new BuildRequest(CONTEXT, Path.of("/work/docker/app.Dockerfile"),
                List.of("registry.lan:5000/app:1", "registry.lan:5000/app:latest"), List.of("VERSION=2", "TOKEN"),
                "test", List.of("linux/amd64", "linux/arm64"), true, List.of("type=oci,dest=/tmp/a.tar", "/tmp/out"),
                true, "plain", List.of("--secret", "id=npm,src=/home/me/.npmrc"));

        List<String> args = request.buildctlArgs(Map.of("TOKEN", "from-env"));

        assertThat(String.join(" ", args))
                .contains("--local dockerfile=/work/docker --opt filename=app.Dockerfile")
                .contains("--opt build-arg:VERSION=2 --opt build-arg:TOKEN=from-env")
                .contains("--opt target=test")
                .contains("--opt platform=linux/amd64,linux/arm64")
                .contains("--output type=image,\"name=registry.lan:5000/app:1,registry.lan:5000/app:latest\",push=true")
                .contains("--output type=oci,dest=/tmp/a.tar --output type=local,dest=/tmp/out")
                .contains("--no-cache --progress plain")
                .endsWith("--secret id=npm,src=/home/me/.npmrc");
    }

    @Test
    void aTagWithoutPushStaysInTheDaemon() {
        BuildRequest request = new BuildRequest(CONTEXT, null, List.of("app"), List.of(), null, List.of(), false,
                List.of(), false, null, List.of());

        assertThat(request.buildctlArgs(Map.of())).contains("type=image,\"name=app\",push=false");
    }

    @Test
    void sizesReadAsPeopleWriteThemInBinaryUnits() {
        assertThat(BuildCache.parseSize("512MB")).isEqualTo(512L << 20);
        assertThat(BuildCache.parseSize("10GB")).isEqualTo(10L << 30);
        assertThat(BuildCache.parseSize("1.5g")).isEqualTo(3L << 29);
        assertThat(BuildCache.parseSize("2048")).isEqualTo(2048);
        assertThat(BuildCache.human(0)).isEqualTo("0 B");
        assertThat(BuildCache.human(1536L << 20)).isEqualTo("1.5 GB");
    }
}
