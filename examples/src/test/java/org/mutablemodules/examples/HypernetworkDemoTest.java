package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job, shortened: it must learn (unseen-task error under 0.05 after 600 batched steps), beat the fixed
 * baseline on unseen tasks, and write its files.
 */
class HypernetworkDemoTest {

    @Test
    void theHypernetworkBeatsTheFixedNetworkOnUnseenTasksAndItsBakedNetworkMatches(@TempDir Path dir)
            throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        HypernetworkDemo.Result r = HypernetworkDemo.run(600, dir, new PrintStream(printed, true, StandardCharsets.UTF_8));
        String text = printed.toString(StandardCharsets.UTF_8);

        assertEquals(40 + 40 + 1600 + 40 + 40 + 1, r.generatedWeights(), "all of the MLP's weights are generated");
        // 600 batched steps of 16 tasks reach about 0.027 here (the full 2000-step run about 0.003)
        assertTrue(r.hyperUnseen() < 0.05, "training must generalise to unseen tasks: " + r);
        assertTrue(r.hyperUnseen() < r.untrainedUnseen() / 20, "training must help on unseen tasks: " + r);
        assertTrue(r.hyperUnseen() < r.baselineUnseen(), "the hypernetwork must beat the fixed network: " + r);
        assertEquals(r.bakedTaskGraphMse(), r.bakedTaskSavedMse(), 1e-5, "the saved DL4J model reproduces the graph");
        assertTrue(Files.size(r.chart()) > 1000 && Files.readAllBytes(r.chart())[1] == 'P', "a PNG chart");
        assertTrue(Files.size(r.model()) > 1000, "a saved model");
        assertTrue(text.contains("Training") && text.contains("600/600"), "progress bar: " + text);
        assertTrue(text.contains("best fixed network (plain DL4J)"), text);
        assertTrue(text.contains("slice(hyper/weights, 0:40)"), text);
        assertTrue(text.contains("Each step trains on 16 tasks at once"), text);
    }
}
