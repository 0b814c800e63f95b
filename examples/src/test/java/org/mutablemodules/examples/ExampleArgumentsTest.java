package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExampleArgumentsTest {

    private static ExampleArguments parse(String... args) {
        return ExampleArguments.parse(args, List.of("--steps", "--out"), List.of("--require-cuda"),
                "[--steps N] [--out DIR] [--require-cuda]");
    }

    @Test
    void optionsFlagsAndDefaults() {
        ExampleArguments a = parse("--out", "dir", "--require-cuda", "--steps", "7");
        assertEquals(7, a.integer("--steps", 3));
        assertEquals(Path.of("dir"), a.path("--out", Path.of("other")));
        assertTrue(a.flag("--require-cuda"));
        ExampleArguments none = parse();
        assertEquals(3, none.integer("--steps", 3));
        assertEquals(Path.of("other"), none.path("--out", Path.of("other")));
        assertFalse(none.flag("--require-cuda"));
    }

    @Test
    void unknownArgumentsAndMissingValuesAreRefusedWithTheUsage() {
        String[][] bad = {{"--stpes", "3"}, {"--steps"}, {"--require-cuda", "extra"}};
        String[] offending = {"--stpes", "--steps", "extra"};
        for (int i = 0; i < bad.length; i++) {
            String[] args = bad[i];
            String message = assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
            assertEquals("Unknown argument \"" + offending[i] + "\"; usage: [--steps N] [--out DIR] [--require-cuda]",
                    message);
        }
    }
}
