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
 * The MAML example, shortened to a few meta-steps: second- and first-order meta-training run through the functional
 * call and the differentiable gradients, adaptation on 10 examples helps every learner on unseen tasks, and the
 * table and chart are written.
 */
class MamlSineTest {

    @Test
    void secondAndFirstOrderMamlTrainAndAdaptToUnseenTasks(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        MamlSine.Result r = MamlSine.run(10, 1, 20, dir, new PrintStream(printed, true, StandardCharsets.UTF_8));
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(Files.size(r.chart()) > 1000 && Files.readAllBytes(r.chart())[1] == 'P', "a PNG chart");
        assertTrue(text.contains("MAML, second order") && text.contains("MAML, first order")
                && text.contains("pre-trained on all tasks"), text);
        assertTrue(text.contains("meta-step 10/10"), text);
        // One gradient step on 10 examples of a task must bring every learner closer to that task's function.
        assertTrue(r.secondOrderMse() < r.secondOrderUnadapted(), "second order adapts: " + r);
        assertTrue(r.firstOrderMse() < r.firstOrderUnadapted(), "first order adapts: " + r);
        assertTrue(r.pretrainedMse() < r.pretrainedUnadapted(), "the pre-trained network adapts: " + r);
        assertTrue(r.secondOrderStepMillis() > 0 && r.firstOrderStepMillis() > 0, r.toString());
    }
}
