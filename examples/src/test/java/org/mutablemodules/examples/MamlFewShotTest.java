package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MamlFewShot}, shortened: both MAML variants meta-train a convolutional network through second-order
 * gradients, adaptation on one example per class lifts every learner above chance on classes never seen, and the
 * table and chart are written.
 */
class MamlFewShotTest {

    @Test
    void convolutionalMamlLearnsToAdaptToUnseenClasses(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        MamlFewShot.Result r = MamlFewShot.run(30, 30, dir, new PrintStream(printed, true, StandardCharsets.UTF_8));
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(Files.size(r.chart()) > 1000 && Files.readAllBytes(r.chart())[1] == 'P', "a PNG chart");
        assertTrue(text.contains("MAML, second order") && text.contains("meta-step 30/30"), text);
        double chance = 1.0 / MamlFewShot.WAYS;
        // Labels are assigned per task: no learner can beat chance before it sees the task's examples...
        assertTrue(Math.abs(r.secondOrderUnadapted() - chance) < 0.1, "second order before adapting: " + r);
        // ...and one step on one example per class must take second-order MAML above it (30 meta-steps here; the
        // example's 400 reach about 0.55)
        assertTrue(r.secondOrderAccuracy() > chance + 0.05 && r.secondOrderAccuracy() > r.secondOrderUnadapted(),
                "second order adapts: " + r);
        assertTrue(r.firstOrderAccuracy() > chance - 0.1 && r.pretrainedAccuracy() > chance - 0.1, r.toString());
        assertTrue(r.secondOrderStepMillis() > 0 && r.firstOrderStepMillis() > 0, r.toString());
    }
}
