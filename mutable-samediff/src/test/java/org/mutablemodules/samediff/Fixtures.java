package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Graphs and checks shared by the tests of this package. */
final class Fixtures {

    private Fixtures() {
    }

    /**
     * The seed's {@code nn.Linear(1, 1)}: placeholder {@code x [-1,1]}, parameters {@code W [1,1]} and {@code b [1]},
     * output {@code out = x W + b}. Weight 0.5, bias 0.25.
     */
    static SameDiff linear1x1(DataType type) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", type, -1, 1);
        SDVariable w = sd.var("W", Nd4j.createFromArray(new double[][] {{0.5}}).castTo(type));
        SDVariable b = sd.var("b", Nd4j.createFromArray(0.25).reshape(1).castTo(type));
        x.mmul(w).add("out", b);
        return sd;
    }

    /**
     * A two-layer perceptron 3-4-2 in DOUBLE with a tanh hidden layer and a mean-squared-error loss "loss" against
     * placeholder "y". Parameters W1 [3,4], b1 [4], W2 [4,2], b2 [2], random with a fixed seed.
     */
    static SameDiff mlp() {
        Nd4j.getRandom().setSeed(42);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable y = sd.placeHolder("y", DataType.DOUBLE, -1, 2);
        SDVariable w1 = sd.var("W1", Nd4j.randn(DataType.DOUBLE, 3, 4));
        SDVariable b1 = sd.var("b1", Nd4j.randn(DataType.DOUBLE, 4));
        SDVariable w2 = sd.var("W2", Nd4j.randn(DataType.DOUBLE, 4, 2));
        SDVariable b2 = sd.var("b2", Nd4j.randn(DataType.DOUBLE, 2));
        SDVariable h = sd.math().tanh(x.mmul(w1).add(b1));
        SDVariable out = h.mmul(w2).add("out", b2);
        sd.loss().meanSquaredError("loss", y, out, null);
        sd.setLossVariables("loss");
        return sd;
    }

    static Map<String, INDArray> mlpInputs() {
        Nd4j.getRandom().setSeed(7);
        return Map.of("x", Nd4j.randn(DataType.DOUBLE, 5, 3), "y", Nd4j.randn(DataType.DOUBLE, 5, 2));
    }

    /**
     * Runs ND4J's finite-difference gradient check (which needs DOUBLE as the global default type) and restores the
     * global types afterwards. Also silences ND4J's per-op "Added differentiated op" lines on standard output.
     */
    static void assertGradientsMatchFiniteDifferences(SameDiff sd, Map<String, INDArray> placeholders) {
        // GradCheckUtil also checks the placeholders' gradients, and reads their arrays from the variables.
        placeholders.forEach((name, value) -> sd.getVariable(name).setArray(value));
        boolean ok = withDoubleDefaults(() -> quietly(() -> GradCheckUtil.checkGradients(
                sd, placeholders, 1e-6, 1e-5, 1e-8, false, false)));
        assertTrue(ok, "finite-difference gradient check failed; rerun with print=true for details");
    }

    static <T> T withDoubleDefaults(Supplier<T> body) {
        DataType before = Nd4j.dataType();
        DataType beforeFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            return body.get();
        } finally {
            Nd4j.setDefaultDataTypes(before, beforeFloat);
        }
    }

    /** Runs {@code body} with standard output discarded (ND4J prints one line per differentiated op). */
    static <T> T quietly(Supplier<T> body) {
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            return body.get();
        } finally {
            System.setOut(out);
        }
    }

    static Map<String, INDArray> gradients(SameDiff sd, Map<String, INDArray> placeholders, String... names) {
        return quietly(() -> sd.calculateGradients(placeholders, names));
    }

    /** A description of the graph's structure: every variable with its type and edges, every op with its inputs. */
    static Map<String, String> structure(SameDiff sd) {
        Map<String, String> s = new TreeMap<>();
        for (Variable v : sd.getVariables().values()) {
            List<String> consumers = v.getInputsForOp() == null ? List.of() : new ArrayList<>(v.getInputsForOp());
            s.put("var " + v.getName(), v.getVariable().getVariableType() + " <- " + v.getOutputOfOp() + " -> " + consumers);
        }
        for (SameDiffOp op : sd.getOps().values()) {
            s.put("op " + op.getName(), op.getOp().opName() + op.getInputsToOp() + " -> " + op.getOutputsOfOp());
        }
        return s;
    }
}
