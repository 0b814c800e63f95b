package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HypernetworkDemoTest {

    @Test
    void trainingTheHypernetworkLowersNet2sLossAndGeneralisesToAnUnseenTask() {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        HypernetworkDemo.Result r = HypernetworkDemo.run(600,
                new PrintStream(printed, true, StandardCharsets.UTF_8));

        assertEquals(49, r.generatedWeights(), "1x16 + 16 + 16x1 + 1 weights of net2");
        assertTrue(r.finalLoss() * 10 < r.initialLoss(), "loss must drop 10x in 600 steps: " + r);
        assertTrue(r.unseenTaskLoss() < r.initialLoss() / 10, "unseen task must be fit too: " + r);
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("history of net2/W1: slice(net1/weights, 0:16)"), text);
        assertTrue(text.contains("x lower"), text);
    }
}
