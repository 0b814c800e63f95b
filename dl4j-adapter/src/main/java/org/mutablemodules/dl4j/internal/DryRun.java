package org.mutablemodules.dl4j.internal;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.mutablemodules.samediff.internal.GraphWalk;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Shapes of a graph's variables found by running it once on zeros, for checks at conversion time: SameDiff infers
 * data types when ops are created, but not shapes. Possible only when every network input upstream has known sizes
 * apart from the minibatch (and the time steps of a time series): an image input's height and width, for example,
 * are known only at run time.
 */
final class DryRun {

    /** The minibatch size of the dry run: 2, so that a result that ignores the minibatch axis shows. */
    static final long MINIBATCH = 2;
    /** The number of time steps given to a time series whose length is free. */
    static final long TIME_STEPS = 3;

    private DryRun() {
    }

    /**
     * Zero-filled values for the placeholders that the named variables depend on, or null when one has a size other
     * than the minibatch (or a time series' length) that is known only at run time.
     */
    static Map<String, INDArray> placeholders(SameDiff sd, Collection<String> names) {
        return placeholders(sd, names, false);
    }

    /**
     * The same; with {@code indexSequences}, a rank-2 placeholder whose width is unknown is taken for the [N, T]
     * indices of an EmbeddingSequenceLayer (its unknown width a sequence length), for callers that only need time
     * steps downstream of it.
     */
    static Map<String, INDArray> placeholders(SameDiff sd, Collection<String> names, boolean indexSequences) {
        Map<String, INDArray> values = new HashMap<>();
        for (String name : GraphWalk.placeholdersUpstreamOf(sd, names)) {
            SDVariable ph = sd.getVariable(name);
            long[] shape = ph.placeholderShape();
            if (shape == null || shape.length == 0) {
                return null;
            }
            long[] concrete = shape.clone();
            concrete[0] = concrete[0] < 0 ? MINIBATCH : concrete[0];
            int unknown = 0;
            for (int i = 1; i < concrete.length; i++) {
                if (concrete[i] < 0) {
                    unknown++;
                    concrete[i] = TIME_STEPS;
                }
            }
            boolean sequence = concrete.length == 3 || indexSequences && concrete.length == 2;
            if (unknown > 1 || unknown == 1 && !sequence) {
                return null;    // an unknown size that is not a time series' length
            }
            values.put(name, Nd4j.zeros(ph.dataType(), concrete));
        }
        return values;
    }

    /**
     * The shapes of the named variables computed from {@code placeholders}.
     *
     * @throws RuntimeException whatever ND4J throws when the graph cannot compute them
     */
    static Map<String, long[]> shapes(SameDiff sd, Map<String, INDArray> placeholders, Collection<String> names) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
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
                // Sessions cache what they executed; the graph keeps growing after this run.
                sd.getSessions().clear();
            }
        }
        Map<String, long[]> ordered = new LinkedHashMap<>();
        names.forEach(name -> ordered.put(name, shapes.get(name)));
        return ordered;
    }
}
