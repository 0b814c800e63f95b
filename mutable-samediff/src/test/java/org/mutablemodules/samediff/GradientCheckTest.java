package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite-difference checks (ND4J's GradCheckUtil, DOUBLE) of every kind of mutation on the 3-4-2 perceptron. Each
 * case feeds a parameter from trainable upstream variables, so the check covers the gradient that reaches them.
 */
class GradientCheckTest {

    /** A trainable upstream variable of the given shape, random with a fixed seed. */
    private static SDVariable upstream(SameDiff sd, String name, long... shape) {
        Nd4j.getRandom().setSeed(name.hashCode());
        return sd.var(name, Nd4j.randn(DataType.DOUBLE, shape).muli(0.5));
    }

    /** A small hypernetwork: z [1,3] -> tanh(z H) [1,n]. */
    private static SDVariable hyperOutput(SameDiff sd, long n) {
        SDVariable z = upstream(sd, "z", 1, 3);
        SDVariable h = upstream(sd, "H", 3, n);
        return sd.math().tanh(z.mmul(h));
    }

    static Stream<Arguments> mutations() {
        return Stream.of(
                Arguments.of("no mutation", (Consumer<MutableGraph>) g -> { }),
                Arguments.of("set W2 from an upstream expression", (Consumer<MutableGraph>) g ->
                        g.param("W2").set(g.sameDiff().math().sin(upstream(g.sameDiff(), "U", 4, 2)))),
                Arguments.of("addi scalar", (Consumer<MutableGraph>) g -> g.param("W1").addi(0.3)),
                Arguments.of("subi scalar", (Consumer<MutableGraph>) g -> g.param("W1").subi(0.3)),
                Arguments.of("muli scalar", (Consumer<MutableGraph>) g -> g.param("W1").muli(1.7)),
                Arguments.of("divi scalar", (Consumer<MutableGraph>) g -> g.param("W1").divi(2.5)),
                Arguments.of("addi broadcast row", (Consumer<MutableGraph>) g ->
                        g.param("W2").addi(upstream(g.sameDiff(), "r", 2))),
                Arguments.of("subi same shape", (Consumer<MutableGraph>) g ->
                        g.param("W2").subi(upstream(g.sameDiff(), "r", 4, 2))),
                Arguments.of("muli broadcast column", (Consumer<MutableGraph>) g ->
                        g.param("W2").muli(upstream(g.sameDiff(), "c", 4, 1))),
                Arguments.of("divi by a positive expression", (Consumer<MutableGraph>) g ->
                        g.param("b1").divi(g.sameDiff().math().exp(upstream(g.sameDiff(), "d", 4)))),
                Arguments.of("apply tanh", (Consumer<MutableGraph>) g ->
                        g.param("W1").apply(v -> g.sameDiff().math().tanh(v))),
                Arguments.of("apply with an upstream term", (Consumer<MutableGraph>) g ->
                        g.param("W1").apply(v -> v.mul(upstream(g.sameDiff(), "s", 3, 4)).add(v))),
                Arguments.of("chain: muli, addi upstream, apply, subi", (Consumer<MutableGraph>) g ->
                        g.param("W2").muli(0.5).addi(upstream(g.sameDiff(), "U", 4, 2))
                                .apply(v -> g.sameDiff().math().tanh(v)).subi(0.1)),
                Arguments.of("fill, then addi upstream", (Consumer<MutableGraph>) g ->
                        g.param("b2").fill(0.5).addi(upstream(g.sameDiff(), "u", 2))),
                Arguments.of("every parameter from one flat hypernetwork output", (Consumer<MutableGraph>) g ->
                        g.setFromFlat(hyperOutput(g.sameDiff(), g.flatSize("W1", "b1", "W2", "b2")),
                                "W1", "b1", "W2", "b2")),
                Arguments.of("one parameter tied to another's value", (Consumer<MutableGraph>) g ->
                        g.param("b2").set(g.param("W2").value().sum(0).mul(0.5))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mutations")
    void gradientsMatchFiniteDifferences(String description, Consumer<MutableGraph> mutation) {
        SameDiff sd = Fixtures.mlp();
        mutation.accept(MutableGraph.of(sd));
        Fixtures.assertGradientsMatchFiniteDifferences(sd, Fixtures.mlpInputs());
    }

    /** One parameter read by several consumers, twice by one of them ({@code W * W}), then fed from upstream. */
    @ParameterizedTest(name = "mutated: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void parameterWithSeveralConsumers(boolean mutated) {
        Nd4j.getRandom().setSeed(3);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable w = sd.var("W", Nd4j.randn(DataType.DOUBLE, 3, 3));
        SDVariable a = x.mmul(w);
        SDVariable b = x.mmul(w.mul(w));
        SDVariable c = x.mmul(sd.transpose(w));
        sd.sum("loss", sd.math().sin(a.add(b).add(c)));
        sd.setLossVariables("loss");
        MutableGraph g = MutableGraph.of(sd);
        if (mutated) {
            g.param("W").set(sd.math().cos(upstream(sd, "U", 3, 3)));
            assertTrue(sd.getVariable("W/init").getVariableType() == org.nd4j.autodiff.samediff.VariableType.CONSTANT);
        }
        Map<String, INDArray> in = Map.of("x", Nd4j.randn(DataType.DOUBLE, 4, 3));
        Fixtures.assertGradientsMatchFiniteDifferences(sd, in);
    }
}
