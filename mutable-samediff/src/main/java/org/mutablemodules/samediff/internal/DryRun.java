package org.mutablemodules.samediff.internal;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one shape inference of every module: SameDiff infers data types when ops are created but not shapes, so the
 * shapes of computed variables are found by running the graph once on zero-filled placeholders. How a placeholder's
 * free sizes are filled is the caller's choice ({@link #ONES}, or the DL4J adapter's minibatch and time steps).
 */
public final class DryRun {

    /** Every free size 1: the shape of anything whose sizes do not depend on the free ones. */
    public static final UnaryOperator<long[]> ONES = declared -> {
        long[] concrete = declared.clone();
        for (int i = 0; i < concrete.length; i++) {
            concrete[i] = concrete[i] < 0 ? 1 : concrete[i];
        }
        return concrete;
    };

    private DryRun() {
    }

    /**
     * Zero-filled values for the placeholders that the named variables depend on, each of the shape {@code sizes}
     * makes of its declared one ({@code -1} for a free size); null when a placeholder has no declared shape or
     * {@code sizes} returns null for it (a size known only at run time).
     *
     * @param names the variables to compute
     * @param sd the graph
     * @param sizes gives each placeholder's shape from its declared one
     * @return zero-filled values for the placeholders that the named variables depend on, each of the shape {@code
     *     sizes} makes of its declared one ({@code -1} for a free size); null when a placeholder has no declared shape
     *     or {@code sizes} returns null for it (a size known only at run time)
     */
    public static Map<String, INDArray> placeholders(SameDiff sd, Collection<String> names,
                                                     UnaryOperator<long[]> sizes) {
        Map<String, INDArray> values = new HashMap<>();
        for (String name : GraphWalk.placeholdersUpstreamOf(sd, names)) {
            SDVariable placeholder = sd.getVariable(name);
            long[] declared = placeholder.placeholderShape();
            long[] concrete = declared == null ? null : sizes.apply(declared);
            if (concrete == null) {
                return null;
            }
            values.put(name, Nd4j.zeros(placeholder.dataType(), concrete));
        }
        return values;
    }

    /**
     * The shapes of the named variables computed from {@code placeholders}, in the order named: a placeholder's from
     * its value, a variable's or constant's from its array, a computed one's from one run of the graph.
     *
     * @param names the variables to compute
     * @param placeholders values of the placeholders, keyed by name
     * @param sd the graph
     * @return the shapes of the named variables computed from {@code placeholders}, in the order named: a placeholder's
     *     from its value, a variable's or constant's from its array, a computed one's from one run of the graph
     * @throws RuntimeException whatever ND4J throws when the graph cannot compute them
     */
    public static Map<String, long[]> shapes(SameDiff sd, Map<String, INDArray> placeholders,
                                             Collection<String> names) {
        Map<String, long[]> shapes = new HashMap<>();
        Set<String> computed = new HashSet<>();
        for (String name : names) {
            SDVariable v = sd.getVariable(name);
            if (v.getVariableType() == VariableType.PLACEHOLDER) {
                shapes.put(name, placeholders.get(name).shape());
            } else if (v.getVariableType() == VariableType.ARRAY) {
                computed.add(name);
            } else {
                shapes.put(name, v.getArr().shape());
            }
        }
        if (!computed.isEmpty()) {
            try {
                Map<String, INDArray> out = sd.output(new HashMap<>(placeholders), computed.toArray(new String[0]));
                computed.forEach(name -> shapes.put(name, out.get(name).shape()));
            } finally {
                // Sessions cache what they executed; the graph keeps changing after a dry run.
                sd.getSessions().clear();
            }
        }
        Map<String, long[]> ordered = new LinkedHashMap<>();
        names.forEach(name -> ordered.put(name, shapes.get(name)));
        return ordered;
    }
}
