package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every documented bad input: an {@link IllegalArgumentException} whose message names what is at fault and what was
 * expected, and a graph left exactly as it was (same structure, same outputs).
 */
class BadInputTest {

    /** A bad call on a converted 3-4-2 perceptron (W1 already mutated once), and words its message must contain. */
    static Stream<Arguments> badCalls() {
        return Stream.of(
                bad("unknown parameter name", g -> () -> g.param("W3"), "\"W3\"", "did you mean", "\"W1\"", "\"b2\""),
                bad("placeholder named as a parameter", g -> () -> MutableGraph.of(g.sameDiff(), "x"), "\"x\"", "PLACEHOLDER"),
                bad("constant named as a parameter", g -> {
                    g.sameDiff().constant("k", Nd4j.ones(DataType.DOUBLE, 2));
                    return () -> MutableGraph.of(g.sameDiff(), "k");
                }, "\"k\"", "CONSTANT", "trainable"),
                bad("activation named as a parameter", g -> () -> MutableGraph.of(g.sameDiff(), "out"), "\"out\"", "ARRAY"),
                bad("unknown variable named for conversion", g -> () -> MutableGraph.of(g.sameDiff(), "W9"), "\"W9\"", "VARIABLE"),
                bad("initial value named as a parameter", g -> () -> MutableGraph.of(g.sameDiff(), "W1/init"),
                        "\"W1/init\"", "param(\"W1\")"),
                bad("array of the wrong shape", g -> () -> g.param("W1").set(Nd4j.zeros(DataType.DOUBLE, 4, 3)),
                        "\"W1\"", "[4, 3]", "expected shape [3, 4]"),
                bad("array of the wrong data type", g -> () -> g.param("W1").set(Nd4j.zeros(DataType.FLOAT, 3, 4)),
                        "\"W1\"", "FLOAT", "DOUBLE"),
                bad("expression of the wrong shape (found by a dry run)", g -> {
                    SDVariable v = g.sameDiff().math().tanh(g.sameDiff().getVariable("x"));
                    return () -> g.param("W1").set(v);
                },
                        "\"W1\"", "[1, 3]", "expected shape [3, 4]"),
                bad("expression of the wrong data type", g -> {
                    SDVariable v = g.sameDiff().constant(Nd4j.zeros(DataType.FLOAT, 3, 4));
                    return () -> g.param("W1").set(v);
                },
                        "\"W1\"", "FLOAT", "castTo"),
                bad("expression from another SameDiff", g -> {
                    SDVariable alien = SameDiff.create().var("alien", Nd4j.zeros(DataType.DOUBLE, 3, 4));
                    return () -> g.param("W1").set(alien);
                },
                        "\"alien\"", "\"W1\"", "another SameDiff"),
                bad("operand that does not broadcast", g -> {
                    SDVariable v = g.sameDiff().var("v5", Nd4j.ones(DataType.DOUBLE, 5));
                    return () -> g.param("W2").addi(v);
                },
                        "\"W2\"", "[5]", "[4, 2]"),
                bad("operand that would enlarge the parameter", g -> {
                    SDVariable v = g.sameDiff().var("big", Nd4j.ones(DataType.DOUBLE, 3, 4, 2));
                    return () -> g.param("W2").muli(v);
                },
                        "\"W2\"", "[3, 4, 2]", "keep the parameter's shape [4, 2]"),
                bad("cycle: parameter fed from its own value", g -> {
                    SDVariable v = g.param("W2").value().mul(2);
                    return () -> g.param("W2").set(v);
                }, "\"W2\"", "cycle", "apply"),
                bad("cycle: parameter fed from an output it produces", g -> {
                    SDVariable v = g.sameDiff().mean(g.sameDiff().getVariable("out"), 0);
                    return () -> g.param("b2").set(v);
                }, "\"b2\"", "cycle"),
                bad("cycle through another parameter", g -> {
                    g.param("b2").set(g.param("W2").value().sum(0));
                    return () -> g.param("W2").addi(g.param("b2").value());
                }, "\"W2\"", "cycle"),
                bad("apply returning the wrong shape", g -> () -> g.param("W1").apply(v -> g.sameDiff().math().tanh(v).sum(0)), "\"W1\"", "[4]", "[3, 4]"),
                bad("apply returning null", g -> () -> g.param("W1").apply(v -> null), "\"W1\"", "null"),
                bad("apply reading the parameter itself", g -> () -> g.param("W1").apply(v -> v.add(g.param("W1").value())), "\"W1\"", "cycle"),
                bad("flat tensor of the wrong length", g -> {
                    SDVariable flat = g.sameDiff().var("flat", Nd4j.ones(DataType.DOUBLE, 1, 7));
                    return () -> g.setFromFlat(flat, "W1", "b1");
                },
                        "7 elements", "16 elements"),
                bad("flat tensor naming a parameter twice", g -> {
                    SDVariable flat = g.sameDiff().var("flat", Nd4j.ones(DataType.DOUBLE, 24));
                    return () -> g.setFromFlat(flat, "W1", "W1");
                }, "\"W1\"", "more than once"),
                bad("operand whose creation was undone", g -> {
                    SDVariable[] made = new SDVariable[1];
                    try {
                        g.param("W1").apply(v -> {
                            made[0] = v.mul(3);
                            return made[0].sum(0);   // wrong shape: refused, and made[0] removed again
                        });
                    } catch (IllegalArgumentException expected) {
                        // the rollback is the point: made[0] no longer exists in the graph
                    }
                    return () -> g.param("W1").set(made[0]);
                }, "\"W1\"", "no longer a variable"),
                bad("output: input of the wrong width", g -> () -> g.output(Map.of("x", Nd4j.ones(DataType.DOUBLE, 5, 6)), "out"),
                        "\"x\"", "[5, 6]", "[any, 3]"),
                bad("output: input of the wrong rank", g -> () -> g.output(Map.of("x", Nd4j.ones(DataType.DOUBLE, 5, 3, 1)), "out"),
                        "\"x\"", "[5, 3, 1]", "[any, 3]"),
                bad("output: input of the wrong data type", g -> () -> g.output(Map.of("x", Nd4j.ones(DataType.FLOAT, 5, 3)), "out"),
                        "\"x\"", "FLOAT", "DOUBLE"),
                bad("output: misspelt placeholder", g -> () -> g.output(Map.of("xx", Nd4j.ones(DataType.DOUBLE, 5, 3)), "out"),
                        "\"xx\"", "did you mean \"x\"", "Placeholders"),
                bad("output: null array", g -> () -> g.output(nullValued("x"), "out"), "\"x\"", "null"),
                bad("output: missing placeholder", g -> () -> g.output(Map.of(), "out"), "\"x\"", "out"),
                bad("output: unknown output", g -> () -> g.output(Fixtures.mlpInputs(), "ouput"), "\"ouput\"", "did you mean \"out\""),
                bad("output: no output named", g -> () -> g.output(Fixtures.mlpInputs()), "at least one variable"),
                bad("gradients: labels of the wrong width", g -> () -> g.gradients(
                        Map.of("x", Nd4j.ones(DataType.DOUBLE, 5, 3), "y", Nd4j.ones(DataType.DOUBLE, 5, 3)), "W1"),
                        "\"y\"", "[5, 3]", "[any, 2]"),
                bad("gradients: labels missing", g -> () -> g.gradients(Map.of("x", Nd4j.ones(DataType.DOUBLE, 5, 3)), "W1"),
                        "\"y\"", "loss"),
                bad("finite check: NaN input", g -> {
                    g.checkFinite(true);
                    INDArray x = Nd4j.ones(DataType.DOUBLE, 5, 3);
                    x.putScalar(2, 1, Double.NaN);
                    return () -> g.output(Map.of("x", x), "out");
                }, "\"x\"", "NaN at [2, 1]"),
                bad("finite check: infinite scalar mutation", g -> {
                    g.checkFinite(true);
                    return () -> g.param("W2").muli(Double.POSITIVE_INFINITY);
                }, "\"W2\"", "Infinity"),
                bad("finite check: fill with NaN", g -> {
                    g.checkFinite(true);
                    return () -> g.param("b1").fill(Double.NaN);
                }, "\"b1\"", "NaN"),
                bad("finite check: array holding NaN", g -> {
                    g.checkFinite(true);
                    INDArray v = Nd4j.zeros(DataType.DOUBLE, 4, 2);
                    v.putScalar(3, 0, Double.NaN);
                    return () -> g.param("W2").set(v);
                }, "\"W2\"", "NaN at [3, 0]"));
    }

    private static Map<String, INDArray> nullValued(String name) {
        Map<String, INDArray> m = new java.util.HashMap<>();
        m.put(name, null);
        return m;
    }

    /** {@code prepare} builds what the bad call needs (valid graph edits) and returns the bad call itself. */
    private static Arguments bad(String name, Function<MutableGraph, Executable> prepare, String... messageParts) {
        return Arguments.of(name, prepare, List.of(messageParts));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void rejectsWithAClearMessageAndChangesNothing(String name, Function<MutableGraph, Executable> prepare,
                                                   List<String> parts) {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        g.param("W1").muli(0.5);
        Map<String, INDArray> in = Fixtures.mlpInputs();
        Executable badCall = prepare.apply(g);
        INDArray outBefore = sd.output(in, "out").get("out");
        Map<String, String> structureBefore = Fixtures.structure(sd);
        Map<String, String> historiesBefore = histories(g);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, badCall);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message should contain " + part + ": " + e.getMessage());
        }
        assertEquals(structureBefore, Fixtures.structure(sd));
        assertEquals(historiesBefore, histories(g));
        assertEquals(outBefore, sd.output(in, "out").get("out"));
    }

    private static Map<String, String> histories(MutableGraph g) {
        Map<String, String> h = new java.util.TreeMap<>();
        g.parameters().forEach(p -> h.put(p.name(), p.history()));
        return h;
    }
}
