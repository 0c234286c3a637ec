package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.ssh.ShellQuote;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellQuoteTest {
    @Test
    void everyArgumentIsSingleQuotedAndQuotesInsideAreEscaped() {
        assertThat(ShellQuote.quote("plain")).isEqualTo("'plain'");
        assertThat(ShellQuote.quote("it's")).isEqualTo("'it'\\''s'");
        assertThat(ShellQuote.quote("$(rm -rf ~); `x` \"y\"\n")).isEqualTo("'$(rm -rf ~); `x` \"y\"\n'");
    }

    @Test
    void argumentsAreJoinedWithSpacesBetweenQuotedWords() {
        assertThat(ShellQuote.join(List.of("echo", "a b", ""))).isEqualTo("'echo' 'a b' ''");
    }
}
