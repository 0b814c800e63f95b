package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The checked computations of {@link MutableGraph} ({@code output}, {@code gradients}), the finite check, and stale
 * parameter handles.
 */
class GraphGuardsTest {

    @Test
    void checkedComputationsEqualSameDiffsOwn() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        g.param("W1").muli(0.5).addi(0.25);
        Map<String, INDArray> in = Fixtures.mlpInputs();
        assertEquals(sd.output(in, "out").get("out"), g.output(in, "out").get("out"));
        Map<String, INDArray> expected = sd.calculateGradients(in, "W1", "b2", "W1/init");
        Map<String, INDArray> actual = g.gradients(in, "W1", "b2", "W1/init");
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> assertEquals(v, actual.get(k), k));
        // W1 = 0.5 W1/init + 0.25, so the initial value's gradient is half the parameter's
        assertTrue(actual.get("W1/init").equalsWithEps(actual.get("W1").mul(0.5), 1e-12));
    }

    /**
     * The placeholders a variable needs are walked once per structure and remembered: every mutation that rewires a
     * parameter to read a placeholder, or stop reading it, is seen by the next check and the next call.
     */
    @Test
    void thePlaceholdersAVariableNeedsFollowEveryChangeOfTheGraph() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> in = Fixtures.mlpInputs();
        Map<String, INDArray> onlyX = Map.of("x", in.get("x"));
        assertEquals(Set.of("x"), g.requiredPlaceholders("out"));
        g.output(onlyX, "out");                                     // remembered for this structure
        SDVariable task = sd.placeHolder("task", DataType.DOUBLE, 4, 1);
        g.param("W2").set(sd.var("H", Nd4j.randn(DataType.DOUBLE, 4, 2)).mul(task.mmul(
                sd.constant(Nd4j.ones(DataType.DOUBLE, 1, 2)))));
        assertEquals(Set.of("task", "x"), g.requiredPlaceholders("out"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> g.output(onlyX, "out"));
        assertTrue(missing.getMessage().contains("\"task\""), missing.getMessage());
        g.param("W2").reset();
        assertEquals(Set.of("x"), g.requiredPlaceholders("out"));
        assertEquals(sd.output(onlyX, "out").get("out"), g.output(onlyX, "out").get("out"));
        // a variable added to the SameDiff instance directly, outside the library's changes, is walked too
        sd.math().tanh("direct", task.mul(2.0));
        assertEquals(Set.of("task"), g.requiredPlaceholders("direct"));
    }

    @Test
    void gradientsWithRespectToAnInputAreComputedOnRequest() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        INDArray w = Nd4j.rand(DataType.DOUBLE, 3, 2);
        sd.math().square(x.mmul(sd.var("W", w))).mean("loss");
        sd.setLossVariables("loss");
        MutableGraph g = MutableGraph.of(sd);
        INDArray input = Nd4j.rand(DataType.DOUBLE, 4, 3);
        Map<String, INDArray> grads = g.gradients(Map.of("x", input), "x", "W");
        // loss = mean((xW)^2) over 8 elements: dL/dx = (2/8) (xW) W^T
        INDArray expected = input.mmul(w).mul(2.0 / 8).mmul(w.transpose());
        assertTrue(expected.equalsWithEps(grads.get("x"), 1e-12), grads.get("x").toString());
        assertTrue(input.transpose().mmul(input.mmul(w).mul(2.0 / 8)).equalsWithEps(grads.get("W"), 1e-12));
    }

    @Test
    void replacedValuesLeaveNothingBehindSoRepeatedMutationsKeepTheGraphSmall() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SDVariable users = sd.math().tanh(sd.var("u", Nd4j.rand(DataType.DOUBLE, 3, 4)));
        MutableParameter w1 = g.param("W1");
        int[] sizeAfterFirstRound = new int[2];
        INDArray[] expected = new INDArray[3];
        for (int round = 0; round < 50; round++) {
            w1.set(Nd4j.ones(DataType.DOUBLE, 3, 4).muli(round));
            INDArray afterSet = g.output(in, "out").get("out");
            w1.apply(v -> v.mul(2)).addi(1);
            INDArray afterApply = g.output(in, "out").get("out");
            w1.set(users);
            w1.reset();
            INDArray afterReset = g.output(in, "out").get("out");
            if (round == 0) {
                sizeAfterFirstRound[0] = sd.getVariables().size();
                sizeAfterFirstRound[1] = sd.getOps().size();
                expected[0] = afterReset;
            }
            assertEquals(expected[0], afterReset);
            // the values are still right: ones * round, then 2 * that + 1
            SameDiff check = Fixtures.mlp();
            check.getVariable("W1").setArray(Nd4j.ones(DataType.DOUBLE, 3, 4).muli(round));
            assertEquals(check.output(in, "out").get("out"), afterSet);
            check.getVariable("W1").setArray(Nd4j.ones(DataType.DOUBLE, 3, 4).muli(2 * round + 1));
            assertEquals(check.output(in, "out").get("out"), afterApply);
        }
        assertEquals(sizeAfterFirstRound[0], sd.getVariables().size(), "variables");
        assertEquals(sizeAfterFirstRound[1], sd.getOps().size(), "ops");
        assertTrue(sd.hasVariable(users.name()), "the user's own expression is never removed");
        assertTrue(sd.hasVariable("u"));
        assertEquals("W1:init", w1.history());
    }

    @Test
    void aParametersFirstMutationRewiresEveryEarlierReaderAndKeepsTheMutationsOwnOpsOnTheOldValue() {
        SameDiff sd = Fixtures.mlp();
        Map<String, INDArray> in = Fixtures.mlpInputs();
        MutableGraph g = MutableGraph.of(sd);
        SDVariable earlier = sd.getVariable("W1").mul("earlier", 2.0);      // built before the first mutation
        INDArray w1 = sd.getVariable("W1").getArr().dup();
        g.param("W1").apply(v -> v.mul(3.0).add(v));                        // W1 := 4 W1, reading W1 twice
        assertTrue(g.output(in, "earlier").get("earlier").equalsWithEps(w1.mul(8.0), 1e-12),
                "an earlier reader sees the mutated value");
        SameDiff check = Fixtures.mlp();
        check.getVariable("W1").setArray(w1.mul(4.0));
        assertEquals(check.output(in, "out").get("out"), g.output(in, "out").get("out"));
        assertEquals("add(W1:init)", g.param("W1").history());
        assertTrue(sd.hasVariable(earlier.name()));
    }

    @Test
    void onADormantParameterApplyRefusesCyclesAndLeavesTheGraphAsItWas() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        SDVariable earlier = sd.getVariable("W1").mul(2.0);
        Map<String, String> structure = Fixtures.structure(sd);
        assertThrows(IllegalArgumentException.class, () -> g.param("W1").apply(v -> v.add(earlier)));
        assertEquals(structure, Fixtures.structure(sd));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.param("W1").apply(v -> v.add(g.param("W1").value())));
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
        assertEquals(structure, Fixtures.structure(sd));
        assertEquals(VariableType.VARIABLE, sd.getVariable("W1").getVariableType(), "still dormant");
    }

    @Test
    void aTrainersUpdaterStateFollowsAParameterThatGetsItsSlot() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        MutableGraph lazy = MutableGraph.of(Fixtures.mlp());
        MutableGraph eager = MutableGraph.of(Fixtures.mlp());
        eager.parameters().forEach(MutableParameter::initial);
        GraphTrainer a = GraphTrainer.builder(lazy).updater(new Adam(0.05)).build();
        GraphTrainer b = GraphTrainer.builder(eager).updater(new Adam(0.05)).build();
        assertArrayEquals(b.fit(() -> in, 3), a.fit(() -> in, 3), 0.0);
        lazy.param("W1").muli(0.5);
        eager.param("W1").muli(0.5);
        // Fresh Adam moments for W1/init would make the lazy graph's next losses differ.
        assertArrayEquals(b.fit(() -> in, 3), a.fit(() -> in, 3), 0.0);
    }

    @Test
    void gradientsWithoutALossAreRefused() {
        SameDiff sd = Fixtures.linear1x1(DataType.DOUBLE);
        MutableGraph g = MutableGraph.of(sd);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> g.gradients(Map.of("x", Nd4j.ones(DataType.DOUBLE, 2, 1)), "W"));
        assertTrue(e.getMessage().contains("setLossVariables"), e.getMessage());
    }

    @Test
    void finiteCheckNamesTheNonFiniteResultAndTheParameterHoldingNaN() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> in = Fixtures.mlpInputs();
        sd.getVariable("b2").getArr().putScalar(1, Double.NaN);     // never mutated: b2 is its own variable
        assertTrue(Double.isNaN(g.output(in, "out").get("out").getDouble(0, 1)), "unchecked: NaN passes through");

        g.checkFinite(true);
        assertTrue(g.checksFinite());
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> g.output(in, "out"));
        assertTrue(e.getMessage().contains("\"out\""), e.getMessage());
        assertTrue(e.getMessage().contains("NaN at [0, 1]"), e.getMessage());
        assertTrue(e.getMessage().contains("\"b2\""), e.getMessage());
        assertThrows(ArithmeticException.class, () -> g.gradients(in, "W2"));

        sd.getVariable("b2").getArr().putScalar(1, 0.0);
        assertFalse(Double.isNaN(g.output(in, "out").get("out").getDouble(0, 1)));
    }

    @Test
    void aHandleWhoseGraphWasChangedBehindItsBackIsRefusedByName() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        MutableParameter w2 = g.param("W2");
        Map<String, INDArray> in = Fixtures.mlpInputs();
        sd.renameVariable("W2", "W2_renamed");
        INDArray before = sd.output(in, "out").get("out");
        Map<String, String> structure = Fixtures.structure(sd);

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w2.muli(2));
        assertTrue(e.getMessage().contains("\"W2\""), e.getMessage());
        assertTrue(e.getMessage().contains("stale"), e.getMessage());
        assertThrows(IllegalStateException.class, w2::reset);
        assertThrows(IllegalStateException.class, w2::value);
        assertEquals(structure, Fixtures.structure(sd));
        assertEquals(before, sd.output(in, "out").get("out"));
        // the other parameters are untouched and still work
        g.param("W1").muli(0);
        assertTrue(g.param("W1").history().startsWith("mul("));
    }
}
