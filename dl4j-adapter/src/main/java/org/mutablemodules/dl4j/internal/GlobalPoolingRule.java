package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@code GlobalPoolingLayer} of a {@link FunctionalNetwork} (average, sum or maximum over the time axis, the spatial
 * axes or the axes configured), with its backward rule: the output's gradient spread back over the pooled axes,
 * divided by their size for the average, and for the maximum given to the first position that holds it (in the
 * pooled axes' row-major order, where {@code reduce_max_bp} sends it when several do).
 *
 * @param description how messages name the layer
 * @param rank        the rank of its input
 * @param axes        the pooled axes of the input, ascending
 * @param type        AVG, SUM or MAX
 * @param collapse    true when the pooled axes are removed from the output (DL4J's {@code collapseDimensions})
 */
record GlobalPoolingRule(String description, int rank, int[] axes, PoolingType type, boolean collapse)
        implements ExplicitLayer {

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SameDiff sd = input.getSameDiff();
        SDVariable y = switch (type) {
            case MAX -> sd.max(input, !collapse, axes);
            case SUM -> sd.sum(input, !collapse, axes);
            default -> sd.mean(input, !collapse, axes);
        };
        long[] out = null;
        if (inputShape != null) {
            long[] full = new long[inputShape.length + 1];
            System.arraycopy(inputShape, 0, full, 1, inputShape.length);
            for (int a : axes) {
                full[a] = collapse ? -2 : 1;
            }
            out = Arrays.stream(full, 1, full.length).filter(v -> v != -2).toArray();
        }
        return new Pass(input, y, y, inputShape, out);
    }

    /**
     * Over a masked series, as DL4J's {@code MaskedReductionUtil} (and the conversion, {@code SequenceMasks.pool}):
     * the maximum over the steps present (the padding pushed far below any activation), their sum, or their mean.
     * The mask ends here.
     */
    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters, SDVariable mask) {
        if (mask == null) {
            return forward(input, inputShape, parameters);
        }
        if (rank != 3 || !Arrays.equals(axes, new int[] {2})) {
            throw new UnsupportedLayerException(description + " pools the axes " + Arrays.toString(axes) + " of "
                    + "activations of rank " + rank + " reached by a features mask; lossGradients pools masked series "
                    + "over their time axis 2 ([N, n, T]) only.");
        }
        SameDiff sd = input.getSameDiff();
        SDVariable m = sd.expandDims(mask, 1);                                          // [N, 1, T]
        SDVariable y = switch (type) {
            case MAX -> sd.max(pushedBelow(input, m), !collapse, axes);
            case SUM -> sd.sum(input.mul(m), !collapse, axes);
            default -> sd.sum(input.mul(m), !collapse, axes).div(sd.sum(m, !collapse, axes));
        };
        Pass unmasked = forward(input, inputShape, parameters);
        return new Pass(input, y, y, unmasked.inputShape(), unmasked.outputShape(), List.of(), mask);
    }

    /** The series with its padding pushed far below any activation (finite, so that 0 times it stays 0). */
    private static SDVariable pushedBelow(SDVariable x, SDVariable m) {
        double low = x.dataType() == DataType.DOUBLE ? -1e300 : -1e30;
        return x.mul(m).add(m.sub(1.0).mul(-low));
    }

    @Override
    public SDVariable maskAfter(SDVariable mask) {
        return null;
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (!needInputGradient) {
            return null;
        }
        SameDiff sd = outputGradient.getSameDiff();
        SDVariable x = pass.input();
        SDVariable g = outputGradient;
        SDVariable y = pass.output();
        if (pass.mask() != null) {
            SDVariable m = sd.expandDims(pass.mask(), 1);
            if (collapse) {
                g = sd.expandDims(g, 2);
                y = sd.expandDims(y, 2);
            }
            SDVariable spread = sd.zerosLike(x).add(g).mul(m);
            return switch (type) {
                case MAX -> spread.mul(firstMaximum(sd, pushedBelow(x, m), y));
                case SUM -> spread;
                default -> spread.div(sd.sum(m, true, 2));
            };
        }
        if (collapse) {
            for (int a : axes) {                        // ascending: each axis where it was
                g = sd.expandDims(g, a);
                y = sd.expandDims(y, a);
            }
        }
        SDVariable spread = sd.zerosLike(x).add(g);
        return switch (type) {
            case MAX -> spread.mul(firstMaximum(sd, x, y));
            case SUM -> spread;
            default -> spread.div(sd.sum(sd.onesLike(x), true, axes));
        };
    }

    /**
     * 1 at the first position of each pooled group that holds its maximum {@code y} (kept axes), 0 elsewhere: the
     * pooled axes are moved last and flattened, and an exclusive running count of the maxima keeps the first.
     */
    private SDVariable firstMaximum(SameDiff sd, SDVariable x, SDVariable y) {
        int[] order = new int[rank];
        int next = 0;
        for (int a = 0; a < rank; a++) {
            if (Arrays.binarySearch(axes, a) < 0) {
                order[next++] = a;
            }
        }
        int kept = next;
        for (int a : axes) {
            order[next++] = a;
        }
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) {
            inverse[order[i]] = i;
        }
        SDVariable moved = sd.permute(x, order);
        SDVariable keptShape = sd.slice(sd.shape(moved), new int[] {0}, kept);
        SDVariable flat = sd.reshape(moved, sd.concat(0, keptShape, sd.constant(Nd4j.createFromArray(-1L))));
        SDVariable maxima = sd.reshape(sd.permute(y, order), sd.concat(0, keptShape,
                sd.constant(Nd4j.createFromArray(1L))));
        SDVariable hits = flat.eq(maxima).castTo(x.dataType());
        SDVariable before = sd.cumsum(hits, true, false, kept);
        SDVariable first = hits.mul(before.eq(0.0).castTo(x.dataType()));
        return sd.permute(sd.reshape(first, sd.shape(moved)), inverse);
    }
}
