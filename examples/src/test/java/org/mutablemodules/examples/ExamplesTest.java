package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Each example of the original library, run as its own program would, checking what it computes and prints. */
class ExamplesTest {

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    private String text() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void quickstartMakesTheWeight69AndTheOutput69xPlusB() {
        Quickstart.Result r = Quickstart.run(out);
        assertEquals(69.0, r.weight(), 0.0);
        assertEquals("add(mul(layer0/W:init, 0.0), 69.0)", r.history());
        assertEquals(69.0 * 2 + r.bias(), r.outputForTwo(), 1e-4);
        assertTrue(text().contains("grad_fn = add(mul(layer0/W:init, 0.0), 69.0)"), text());
    }

    @Test
    void aConvertedNetworkFitsAndEvaluatesTheDl4jWayAndBakesToTheSameAccuracy() {
        Dl4jTraining.Result r = Dl4jTraining.run(out);
        assertTrue(r.accuracyAfter() > 0.9 && r.accuracyAfter() > r.accuracyBefore() + 0.2,
                r.accuracyBefore() + " -> " + r.accuracyAfter());
        assertEquals(r.accuracyAfter(), r.bakedAccuracy(), 0.0, "the baked network classifies as the trained one");
        assertTrue(Double.isFinite(r.lastScore()));
        assertTrue(text().contains("after 100 steps"), text());
        assertTrue(text().contains("Accuracy:"), text());
    }

    @Test
    void fillAndAssignmentGive420point69() {
        assertEquals(420.69, AssignmentAndFill.run(out), 1e-4);
        assertTrue(text().contains("net(1) = 420.69"), text());
    }

    @Test
    void theNestedModulesFirstConvolutionReads420AndTheWrappedOneIsUntouched() {
        NestedModule.Result r = NestedModule.run(out);
        assertEquals(420.0, r.firstWeight(), 0.0);
        assertTrue(r.secondWeight() != 420.0);
        // output = w2 * (420 * 1 + b1) + b2: the first layer's mutated weight reaches the output
        assertTrue(Math.abs(r.output().getDouble(0)) > 1.0, "output " + r.output());
        assertTrue(text().contains("convs[0].weight = 420.0"), text());
    }

    @Test
    void myModulesOwnLayerConvertsItsWeightIsSetAndTheLossGradientFlowsThroughIt() {
        MyModule.Result r = MyModule.run(out);
        assertEquals(2.0, r.weight(), 0.0);
        assertEquals("add(mul(layer0/W:init, 0.0), 2.0)", r.history());
        assertTrue(text().contains("grad_fn = add(mul(layer0/W:init, 0.0), 2.0)"), text());
        // The printed gradient is the score's: compare it with a central difference along "gain" (FLOAT graph).
        INDArray gain = r.mutable().graph().sameDiff().getVariable("gain").getArr();
        double h = 1e-2;
        gain.putScalar(0, 1 + h);
        double plus = r.mutable().score(r.x(), r.y());
        gain.putScalar(0, 1 - h);
        double minus = r.mutable().score(r.x(), r.y());
        gain.putScalar(0, 1);
        double difference = (plus - minus) / (2 * h);
        assertTrue(Math.abs(r.gradient()) > 1e-2, "a gradient reaches gain: " + r.gradient());
        assertEquals(difference, r.gradient(), 1e-3 * Math.max(1, Math.abs(difference)));
        assertTrue(text().contains("d loss / d gain = "), text());
    }

    @Test
    void aSavedHypernetworkRunGoesOnAfterLoadingToTheUninterruptedLosses(@TempDir Path dir) {
        SaveAndResume.Result r = SaveAndResume.run(out, dir.resolve("run.mmn"));
        assertArrayEquals(r.uninterrupted(), r.resumed(), 0.0);
        assertTrue(r.resumed()[19] < r.resumed()[0], "training goes on: " + r.resumed()[0] + " -> " + r.resumed()[19]);
        assertTrue(r.history().startsWith("slice("), r.history());
        assertTrue(text().contains("loss after the restart"), text());
    }

    /** Runs {@code body} and returns what it printed on standard output (where ND4J prints). */
    private static String standardOutputOf(Runnable body) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setOut(stdout);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theHypernetworkStoryTrainsNet1ToPredictNet2sWeights() {
        HypernetworkStory.Result[] result = new HypernetworkStory.Result[1];
        String nd4j = standardOutputOf(() -> result[0] = HypernetworkStory.run(out));
        assertEquals("", nd4j, "GraphTrainer keeps ND4J quiet without Quiet.run");
        HypernetworkStory.Result r = result[0];
        assertTrue(r.lossAfter() * 100 < r.lossBefore(), "loss must fall 100x: " + r);
        assertEquals(3.0, r.predictedWeight(), 0.05);
        assertEquals(-1.5, r.predictedBias(), 0.05);
        assertTrue(text().contains("net2's weight is fed by slice(net1/output, 0:1)"), text());
    }

    @Test
    void aHypernetworkTrainsThroughAComputationGraphAndBakesIntoAPlainOne() {
        GraphHypernetwork.Result[] result = new GraphHypernetwork.Result[1];
        String nd4j = standardOutputOf(() -> result[0] = GraphHypernetwork.run(out));
        assertEquals("", nd4j, "GraphTrainer keeps ND4J quiet without Quiet.run");
        GraphHypernetwork.Result r = result[0];
        assertTrue(r.lossAfter() * 5 < r.lossBefore(), "loss must fall 5x: " + r);
        assertTrue(r.bakedDifference() < 1e-5, "baked graph: " + r);
        assertTrue(text().contains("baked graph differs by at most"), text());
    }

    @Test
    void aDl4jNetworkTrainsAsATribuoClassifierAndReloadsFromProtobuf() {
        TribuoIris.Result r = TribuoIris.run(out);
        assertTrue(r.accuracy() >= 0.9, "Iris test accuracy " + r.accuracy());
        assertTrue(r.sameAfterReload(), "the reloaded model must predict exactly as the trained one");
        assertTrue(text().contains("reloaded model predicts " + r.firstPrediction()), text());
        assertTrue(r.firstPrediction().startsWith("Iris-"), r.firstPrediction());
    }
}
