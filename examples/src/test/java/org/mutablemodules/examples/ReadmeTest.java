package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The README's code is the examples' code: every block between {@code // README: name} and {@code // README: end}
 * in an example (which {@link ExamplesTest} runs) must appear in the README verbatim, indentation aside.
 */
class ReadmeTest {

    private static final Path README = Path.of("..", "README.md");
    private static final Path EXAMPLES = Path.of("src", "main", "java", "org", "mutablemodules", "examples");
    private static final Pattern BLOCK = Pattern.compile("// README: (\\w+)\\n(.*?)\\n\\s*// README: end", Pattern.DOTALL);

    @ParameterizedTest
    @ValueSource(strings = {"Quickstart", "AssignmentAndFill", "NestedModule", "HypernetworkStory", "GraphHypernetwork",
        "MyModule", "TribuoIris", "MamlSine", "SaveAndResume"})
    void theReadmeShowsTheExamplesCode(String example) throws IOException {
        String source = Files.readString(EXAMPLES.resolve(example + ".java"));
        String readme = Files.readString(README);
        Matcher m = BLOCK.matcher(source);
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(2));
        }
        assertEquals(1, blocks.size(), example + " must mark exactly one README block");
        String block = dedent(blocks.get(0));
        assertTrue(readme.contains(block), "README.md lacks the code of " + example + ":\n" + block);
    }

    @Test
    void ciRunsTheReadmesTestCommand() throws IOException {
        String readme = Files.readString(README);
        Matcher m = Pattern.compile("\\| run the tests[^|]*\\| `([^`]+)` \\|").matcher(readme);
        assertTrue(m.find(), "the README's table names the test command");
        String ci = Files.readString(Path.of("..", ".ci", "run"));
        assertTrue(ci.lines().anyMatch(line -> line.strip().equals(m.group(1))), ".ci/run must run " + m.group(1));
    }

    private static String dedent(String block) {
        List<String> lines = block.lines().collect(Collectors.toList());
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.joining("\n"));
    }
}
