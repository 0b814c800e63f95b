package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.adapter.SingletonMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * {@link MutableGraph#withConstants}: a graph whose weights are constants (frozen with {@code convertToConstants}, or
 * imported) made mutable. The constants' values stay fixed unless they are made variables first; what feeds a
 * parameter after a mutation is trained; {@code of(sd)} still converts variables only.
 */
class ConstantsTest {

    private static final String[] WEIGHTS = {"W1", "b1", "W2", "b2"};

    /** The test perceptron with its four parameters frozen into constants, and an integer constant "steps". */
    private static SameDiff frozenMlp() {
        SameDiff sd = Fixtures.mlp();
        List<SDVariable> weights = new ArrayList<>();
        for (String w : WEIGHTS) {
            weights.add(sd.getVariable(w));
        }
        sd.convertToConstants(weights);
        sd.constant("steps", Nd4j.createFromArray(3, 4));
        return sd;
    }

    private static INDArray out(SameDiff sd) {
        return sd.output(Fixtures.mlpInputs(), "out").get("out");
    }

    @Test
    void ofKeepsItsMeaningAndConvertsNoConstant() {
        SameDiff sd = frozenMlp();
        MutableGraph g = MutableGraph.of(sd);
        assertEquals(List.of(), g.parameterNames());
        assertEquals(VariableType.CONSTANT, sd.getVariable("W1").getVariableType());
    }

    @Test
    void namedConstantsBecomeMutableParametersWhoseInitialValueStaysConstant() {
        SameDiff sd = frozenMlp();
        INDArray before = out(sd);
        MutableGraph g = MutableGraph.withConstants(sd, WEIGHTS);
        assertEquals(List.of(WEIGHTS), g.parameterNames());
        assertEquals(before, out(sd), "conversion alone changes nothing");
        for (String w : WEIGHTS) {
            assertEquals(VariableType.CONSTANT, g.param(w).initial().getVariableType(), w);
            assertTrue(g.param(w).usesInitialValue(), w);
        }

        // The same mutation on the variable-based twin gives the same output.
        g.param("W1").muli(0.5).addi(0.1);
        SameDiff twin = Fixtures.mlp();
        MutableGraph.of(twin).param("W1").muli(0.5).addi(0.1);
        assertEquals(out(twin), out(sd));
        assertEquals("add(mul(W1:init, 0.5), 0.1)", g.param("W1").history());

        g.param("W1").reset();
        assertEquals(before, out(sd));
        assertEquals(VariableType.CONSTANT, g.param("W1").initial().getVariableType(), "reset keeps it constant");
    }

    /** A frozen perceptron whose W2 is scaled by the trainable variable "scale". */
    private static SameDiff scaledW2() {
        SameDiff sd = frozenMlp();
        MutableGraph g = MutableGraph.withConstants(sd, "W1", "W2");
        g.param("W2").muli(sd.var("scale", Nd4j.ones(DataType.DOUBLE, 1, 2).muli(0.3)));
        return sd;
    }

    @Test
    void gradientsReachWhatFeedsAConstantParameter() {
        SameDiff sd = scaledW2();
        // The data become constants: ND4J asks no gradient of a placeholder read only with constants.
        Fixtures.mlpInputs().forEach((name, value) -> {
            sd.getVariable(name).setArray(value);
            sd.convertToConstant(sd.getVariable(name));
        });
        Fixtures.assertGradientsMatchFiniteDifferences(sd, Map.of());
    }

    @Test
    void whatFeedsAConstantParameterIsTrainedWhileTheConstantIsNot() {
        SameDiff sd = scaledW2();
        SDVariable scale = sd.getVariable("scale");
        INDArray w1 = sd.getVariable("W1").getArr().dup();      // never mutated: still its own constant
        INDArray w2 = sd.getVariable("W2/init").getArr().dup();
        INDArray scaleBefore = scale.getArr().dup();
        Map<String, INDArray> in = Fixtures.mlpInputs();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.1))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        double lossBefore = sd.output(in, "loss").get("loss").getDouble(0);
        MultiDataSet data = new MultiDataSet(in.get("x"), in.get("y"));
        Fixtures.quietly(() -> sd.fit(new SingletonMultiDataSetIterator(data), 20));
        double lossAfter = sd.output(in, "loss").get("loss").getDouble(0);

        assertTrue(lossAfter < lossBefore, "loss " + lossBefore + " -> " + lossAfter);
        assertFalse(scaleBefore.equals(scale.getArr()), "the upstream variable is trained");
        assertEquals(w1, sd.getVariable("W1").getArr(), "a constant's value is not trained");
        assertEquals(w2, sd.getVariable("W2/init").getArr(), "a constant's value is not trained");
    }

    @Test
    void aConstantMadeAVariableFirstIsTrained() {
        SameDiff sd = frozenMlp();
        sd.convertToVariable(sd.getVariable("b2"));
        MutableGraph g = MutableGraph.withConstants(sd, "W2", "b2");
        assertEquals(VariableType.VARIABLE, g.param("b2").initial().getVariableType());
        assertEquals(VariableType.CONSTANT, g.param("W2").initial().getVariableType());
        Map<String, INDArray> grads = Fixtures.gradients(sd, Fixtures.mlpInputs(), "b2/init");
        assertTrue(grads.get("b2/init").amaxNumber().doubleValue() > 0, "b2's value gets a gradient");
    }

    @Test
    void aSavedAndLoadedGraphKeepsTheConstantsFixed(@TempDir Path dir) throws Exception {
        SameDiff sd = frozenMlp();
        MutableGraph.withConstants(sd, "W1");
        File file = dir.resolve("frozen.sd").toFile();
        sd.save(file, false);
        SameDiff loaded = SameDiff.load(file, false);

        // Never mutated, W1 was saved as the plain constant it is: name it as a constant again.
        MutableGraph g = MutableGraph.withConstants(loaded, "W1");
        assertEquals(out(sd), out(loaded));
        g.param("W1").fill(1.0);
        g.param("W1").reset();
        assertEquals(VariableType.CONSTANT, g.param("W1").initial().getVariableType(),
                "a constant stays fixed after a reset, also in a loaded graph");
        assertEquals(out(sd), out(loaded));
    }

    /** A bad call, and the words its message must contain. */
    static Stream<Arguments> badCalls() {
        return Stream.of(
                Arguments.of("a constant named to of(sd, names)", (Bad) sd -> MutableGraph.of(sd, "W1"),
                        List.of("\"W1\"", "CONSTANT", "trainable", "withConstants(sd, \"W1\")", "convertToVariable")),
                Arguments.of("a placeholder", (Bad) sd -> MutableGraph.withConstants(sd, "x"),
                        List.of("\"x\"", "PLACEHOLDER", "VARIABLEs and CONSTANTs")),
                Arguments.of("an activation", (Bad) sd -> MutableGraph.withConstants(sd, "out"),
                        List.of("\"out\"", "ARRAY")),
                Arguments.of("an integer constant", (Bad) sd -> MutableGraph.withConstants(sd, "W1", "steps"),
                        List.of("\"steps\"", "CONSTANT", "INT", "floating-point")),
                Arguments.of("an unknown name", (Bad) sd -> MutableGraph.withConstants(sd, "W3"),
                        List.of("\"W3\"", "did you mean", "\"W1\"", "CONSTANTs")));
    }

    /** A bad call on the frozen perceptron. */
    interface Bad {
        void call(SameDiff sd);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void badNamesAreRefusedAndNothingIsConverted(String name, Bad bad, List<String> parts) {
        SameDiff sd = frozenMlp();
        INDArray before = out(sd);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.call(sd));
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message should contain " + part + ": " + e.getMessage());
        }
        assertEquals(Fixtures.structure(frozenMlp()), Fixtures.structure(sd), "the graph is as it was");
        assertEquals(List.of(), MutableGraph.of(sd).parameterNames());
        assertEquals(before, out(sd));
    }
}
