package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@code GlobalPoolingLayer} of a {@link FunctionalNetwork} (average, sum or maximum over the time axis, the spatial
 * axes or the axes configured), with its backward rule: the output's gradient spread back over the pooled axes,
 * divided by their size for the average, and for the maximum given to the positions that hold it (where several do,
 * each gets it, as ND4J's {@code reduce_max} backpropagates).
 *
 * @param description how messages name the layer
 * @param axes        the pooled axes of the input, ascending
 * @param type        AVG, SUM or MAX
 * @param collapse    true when the pooled axes are removed from the output (DL4J's {@code collapseDimensions})
 */
record GlobalPoolingRule(String description, int[] axes, PoolingType type, boolean collapse) implements ExplicitLayer {

    @Override
    public List<String> parameterKeys() {
        return List.of();
    }

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
        if (collapse) {
            for (int a : axes) {                        // ascending: each axis where it was
                g = sd.expandDims(g, a);
                y = sd.expandDims(y, a);
            }
        }
        SDVariable spread = sd.zerosLike(x).add(g);
        return switch (type) {
            case MAX -> spread.mul(x.eq(y).castTo(x.dataType()));
            case SUM -> spread;
            default -> spread.div(sd.sum(sd.onesLike(x), true, axes));
        };
    }
}
