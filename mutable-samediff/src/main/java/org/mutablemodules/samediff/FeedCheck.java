package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Checks what a computation is given before any native code runs: ND4J's own failures for a wrong shape name an op
 * deep in the graph and print C++ text, while these messages name the placeholder, what was given and what was
 * expected.
 */
final class FeedCheck {

    private FeedCheck() {
    }

    /** The requested variables exist; at least one is named. */
    static void requireVariables(SameDiff sd, String what, String... names) {
        Objects.requireNonNull(names, what);
        if (names.length == 0) {
            throw new IllegalArgumentException(Messages.format(Messages.NO_VARIABLES_REQUESTED, what));
        }
        for (String name : names) {
            Objects.requireNonNull(name, what + " name");
            if (!sd.hasVariable(name)) {
                throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_VARIABLE, name,
                        Messages.nearest(name, sd.getVariables().keySet())));
            }
        }
    }

    /**
     * Every key of {@code feed} is a placeholder of {@code sd} whose declared shape and data type the array has, and
     * every placeholder that {@code targets} need is fed.
     */
    static void requireFeed(SameDiff sd, GraphState state, Map<String, INDArray> feed, String... targets) {
        Objects.requireNonNull(feed, "placeholders (pass Map.of() when there are none)");
        requirePlaceholderKeys(sd, feed);
        for (Map.Entry<String, INDArray> e : feed.entrySet()) {
            String name = e.getKey();
            INDArray array = e.getValue();
            SDVariable placeholder = sd.getVariable(name);
            if (array.dataType() != placeholder.dataType()) {
                throw new IllegalArgumentException(Messages.format(Messages.PLACEHOLDER_DATA_TYPE, name,
                        array.dataType(), placeholder.dataType(), placeholder.dataType()));
            }
            long[] expected = placeholder.placeholderShape();
            if (expected != null && !fits(array.shape(), expected)) {
                throw new IllegalArgumentException(Messages.format(Messages.PLACEHOLDER_SHAPE, name, array.shape(),
                        describe(expected)));
            }
        }
        Set<String> missing = new TreeSet<>(state.placeholdersUpstreamOf(sd, List.of(targets)));
        missing.removeAll(feed.keySet());
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(Messages.format(Messages.MISSING_PLACEHOLDERS,
                    Messages.list(missing), String.join(", ", targets)));
        }
    }

    /** Every key of {@code feed} names a placeholder of {@code sd} and has an array. */
    static void requirePlaceholderKeys(SameDiff sd, Map<String, INDArray> feed) {
        for (Map.Entry<String, INDArray> e : feed.entrySet()) {
            String name = e.getKey();
            Variable v = name == null ? null : sd.getVariables().get(name);
            if (v == null || v.getVariable().getVariableType() != VariableType.PLACEHOLDER) {
                List<String> placeholders = placeholders(sd);
                throw new IllegalArgumentException(Messages.format(Messages.NOT_A_PLACEHOLDER, name,
                        Messages.nearest(String.valueOf(name), placeholders), Messages.list(placeholders)));
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException(Messages.format(Messages.NULL_PLACEHOLDER, name));
            }
        }
    }

    /** With the finite check on: every floating-point array fed is free of NaN and infinite values. */
    static void requireFiniteFeed(Map<String, INDArray> feed) {
        for (Map.Entry<String, INDArray> e : feed.entrySet()) {
            String where = firstNonFinite(e.getValue());
            if (where != null) {
                throw new IllegalArgumentException(Messages.format(Messages.NON_FINITE_INPUT, e.getKey(),
                        where));
            }
        }
    }

    /** With the finite check on: the results are finite, or the message says which is not and where to look. */
    static void requireFiniteResults(SameDiff sd, Map<String, INDArray> results) {
        for (Map.Entry<String, INDArray> e : results.entrySet()) {
            String where = firstNonFinite(e.getValue());
            if (where != null) {
                throw new ArithmeticException(Messages.format(Messages.NON_FINITE_RESULT, e.getKey(), where,
                        Messages.list(nonFiniteParameters(sd))));
            }
        }
    }

    /** "NaN at [2, 1]" for the first non-finite element in row-major order, or null if all are finite. */
    static String firstNonFinite(INDArray array) {
        if (array == null || !array.dataType().isFPType() || array.isEmpty()) {
            return null;
        }
        if (!BooleanIndexing.or(array, Conditions.isNan()) && !BooleanIndexing.or(array, Conditions.isInfinite())) {
            return null;
        }
        INDArray flat = array.ravel();
        for (long i = 0; i < flat.length(); i++) {
            double v = flat.getDouble(i);
            if (!Double.isFinite(v)) {
                long[] index = array.rank() == 0 ? new long[0] : Shape.ind2subC(array.shape(), i);
                return v + " at " + Arrays.toString(index);
            }
        }
        return null;
    }

    private static List<String> nonFiniteParameters(SameDiff sd) {
        List<String> found = new ArrayList<>();
        for (Variable v : sd.getVariables().values()) {
            SDVariable var = v.getVariable();
            VariableType type = var.getVariableType();
            if ((type == VariableType.VARIABLE || type == VariableType.CONSTANT) && firstNonFinite(var.getArr()) != null) {
                found.add(var.name());
            }
        }
        return found;
    }

    private static List<String> placeholders(SameDiff sd) {
        List<String> names = new ArrayList<>();
        for (Variable v : sd.getVariables().values()) {
            if (v.getVariable().getVariableType() == VariableType.PLACEHOLDER) {
                names.add(v.getName());
            }
        }
        return names;
    }

    private static boolean fits(long[] shape, long[] expected) {
        if (shape.length != expected.length) {
            return false;
        }
        for (int d = 0; d < shape.length; d++) {
            if (expected[d] >= 0 && expected[d] != shape[d]) {
                return false;
            }
        }
        return true;
    }

    /** A placeholder shape with its free dimensions shown as "any", e.g. [any, 7]. */
    static String describe(long[] expected) {
        StringBuilder sb = new StringBuilder("[");
        for (int d = 0; d < expected.length; d++) {
            sb.append(d == 0 ? "" : ", ").append(expected[d] < 0 ? "any" : String.valueOf(expected[d]));
        }
        return sb.append(']').toString();
    }
}
