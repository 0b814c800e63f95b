package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * {@link GradientFunctions#useLoss}: alternating between losses reuses each loss's gradient function while the graph
 * keeps its structure and arrays, and rebuilds it otherwise; either way the steps equal those of a graph that
 * rebuilds it at every change (SameDiff's own behaviour).
 */
class GradientFunctionsTest {

    /** The perceptron of {@link Fixtures#mlp()} with a second loss: the mean absolute error of the same output. */
    private static SameDiff twoLosses() {
        SameDiff sd = Fixtures.mlp();
        sd.math().abs(sd.getVariable("out").sub(sd.getVariable("y"))).mean().rename("l1");
        return sd;
    }

    private static Map<String, INDArray> feed(long seed) {
        Nd4j.getRandom().setSeed(1000 + seed);        // not 0, which ND4J's generator takes as "no seed"
        return Map.of("x", Nd4j.randn(DataType.DOUBLE, 5, 3), "y", Nd4j.randn(DataType.DOUBLE, 5, 2));
    }

    /** Alternating steps on the two losses, from the same start, with each step's losses. */
    private static double[] alternate(GraphTrainer trainer, int steps) {
        double[] losses = new double[steps];
        for (int s = 0; s < steps; s++) {
            losses[s] = s % 2 == 0 ? trainer.step(feed(s)) : trainer.step(feed(s), "l1");
        }
        return losses;
    }

    @Test
    void alternatingLossesReuseEachGradientFunctionAndTrainAsRebuildingEachTime() {
        SameDiff sd = twoLosses();
        GraphTrainer trainer = GraphTrainer.builder(MutableGraph.of(sd)).loss("loss").updater(new Adam(0.05)).build();
        trainer.step(feed(100));
        SameDiff forLoss = sd.getFunction(GradientFunctions.GRADIENT_FUNCTION);
        trainer.step(feed(101), "l1");
        SameDiff forL1 = sd.getFunction(GradientFunctions.GRADIENT_FUNCTION);
        assertNotSame(forLoss, forL1);
        trainer.step(feed(102));
        assertSame(forLoss, sd.getFunction(GradientFunctions.GRADIENT_FUNCTION), "the first loss's function again");
        trainer.step(feed(103), "l1");
        assertSame(forL1, sd.getFunction(GradientFunctions.GRADIENT_FUNCTION), "the second loss's function again");
        double[] kept = alternate(trainer, 6);

        // the same steps where SameDiff builds every gradient function anew (a fresh graph per step's loss change)
        SameDiff reference = twoLosses();
        GraphTrainer rebuilt = GraphTrainer.builder(MutableGraph.of(reference)).loss("loss").updater(new Adam(0.05))
                .build();
        double[] expected = new double[6];
        for (int s = -4; s < 6; s++) {
            Map<String, INDArray> f = s < 0 ? feed(104 + s) : feed(s);
            reference.setLossVariables(reference.getLossVariables().toArray(new String[0]));  // drops the function
            double l = (s + 4) % 2 == 0 ? rebuilt.step(f) : rebuilt.step(f, "l1");
            if (s >= 0) {
                expected[s] = l;
            }
        }
        for (int s = 0; s < 6; s++) {
            assertEquals(expected[s], kept[s], 0.0, "loss of step " + s);
        }
        for (String w : new String[] {"W1", "b1", "W2", "b2"}) {
            assertEquals(reference.getArrForVarName(w), sd.getArrForVarName(w), w);
        }
    }

    @Test
    void aChangedStructureBuildsTheFunctionAnewAndAReplacedArrayIsRead() {
        SameDiff sd = twoLosses();
        MutableGraph graph = MutableGraph.of(sd);
        GraphTrainer trainer = GraphTrainer.builder(graph).loss("loss").updater(new Adam(0.05)).build();
        trainer.step(feed(1));
        SameDiff first = sd.getFunction(GradientFunctions.GRADIENT_FUNCTION);
        trainer.step(feed(2), "l1");
        // a mutation changes the structure: the kept function is of the old graph
        graph.param("W1").muli(0.5);
        trainer.step(feed(3));
        assertNotSame(first, sd.getFunction(GradientFunctions.GRADIENT_FUNCTION));
        trainer.step(feed(4), "l1");
        // a variable given another array: the gradient is the one at its new value
        SDVariable b2 = sd.getVariable("b2");
        b2.setArray(b2.getArr().dup().addi(1.0));
        Map<String, INDArray> f = feed(5);
        Map<String, INDArray> gradients = graph.gradientsOf("loss", f, "b2");
        // of the mean squared error with respect to b2: the sum over the batch of 2 (out - y) / (elements)
        INDArray out = graph.output(f, "out").get("out");
        INDArray expected = out.sub(f.get("y")).mul(2.0 / out.length()).sum(0);
        assertEquals(expected, gradients.get("b2").reshape(expected.shape()));
    }

    @Test
    void aKeptFunctionWhoseArraysAreNotTheGraphsIsNotReused() {
        SameDiff sd = twoLosses();
        GraphTrainer trainer = GraphTrainer.builder(MutableGraph.of(sd)).loss("loss").updater(new Adam(0.05)).build();
        trainer.step(feed(1));
        SameDiff function = sd.getFunction(GradientFunctions.GRADIENT_FUNCTION);
        GraphState state = GraphState.of(sd);
        state.keepGradientFunction(sd, List.of("loss"), function);
        assertSame(function, state.keptGradientFunction(sd, List.of("loss")));
        state.keepGradientFunction(sd, List.of("loss"), function);
        function.getVariable("W2").setArray(sd.getArrForVarName("W2").dup());
        assertNull(state.keptGradientFunction(sd, List.of("loss")), "reads another W2");
    }
}
