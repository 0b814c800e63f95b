package org.mutablemodules.dl4j.internal;

import java.util.Collection;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The conversion's sizes for the core's shape inference ({@code org.mutablemodules.samediff.internal.DryRun}), for
 * checks at conversion time: a minibatch of 2 and 3 time steps for a time series whose length is free. Possible only
 * when every network input upstream has known sizes apart from the minibatch (and the time steps of a time series):
 * an image input's height and width, for example, are known only at run time.
 */
final class ConversionDryRun {

    /** The minibatch size of the dry run: 2, so that a result that ignores the minibatch axis shows. */
    static final long MINIBATCH = 2;
    /** The number of time steps given to a time series whose length is free. */
    static final long TIME_STEPS = 3;

    private ConversionDryRun() {
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
        return org.mutablemodules.samediff.internal.DryRun.placeholders(sd, names, declared -> {
            if (declared.length == 0) {
                return null;
            }
            long[] concrete = declared.clone();
            concrete[0] = concrete[0] < 0 ? MINIBATCH : concrete[0];
            int unknown = 0;
            for (int i = 1; i < concrete.length; i++) {
                if (concrete[i] < 0) {
                    unknown++;
                    concrete[i] = TIME_STEPS;
                }
            }
            boolean sequence = concrete.length == 3 || indexSequences && concrete.length == 2;
            return unknown > 1 || unknown == 1 && !sequence ? null : concrete;   // null: a size known only at run time
        });
    }

    /**
     * The shapes of the named variables with every time-series input {@code sequenceLength} steps long (a masked
     * replay's length, or the conversion's), or null when a placeholder they depend on has another size known only
     * at run time.
     */
    static Map<String, long[]> shapesAtLength(SameDiff sd, Collection<String> names, int sequenceLength) {
        Map<String, INDArray> zeros = placeholdersAtLength(sd, names, sequenceLength);
        return zeros == null ? null : shapes(sd, zeros, names);
    }

    /**
     * Zero-filled values for the placeholders the named variables depend on, every time-series input (and mask)
     * {@code sequenceLength} steps long, or null as {@link #shapesAtLength}.
     */
    static Map<String, INDArray> placeholdersAtLength(SameDiff sd, Collection<String> names, int sequenceLength) {
        Map<String, INDArray> zeros = placeholders(sd, names, true);
        if (zeros == null) {
            return null;
        }
        for (Map.Entry<String, INDArray> e : zeros.entrySet()) {
            long[] shape = sd.getVariable(e.getKey()).placeholderShape();
            long[] concrete = e.getValue().shape();
            for (int i = 1; i < shape.length; i++) {
                if (shape[i] < 0) {
                    concrete[i] = sequenceLength;       // the dry run's own guess is another length
                }
            }
            e.setValue(Nd4j.zeros(e.getValue().dataType(), concrete));
        }
        return zeros;
    }

    /**
     * The shapes of the named variables computed from {@code placeholders}.
     *
     * @throws RuntimeException whatever ND4J throws when the graph cannot compute them
     */
    static Map<String, long[]> shapes(SameDiff sd, Map<String, INDArray> placeholders, Collection<String> names) {
        return org.mutablemodules.samediff.internal.DryRun.shapes(sd, placeholders, names);
    }
}
