package org.mutablemodules.dl4j.internal;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The step before an {@code RnnOutputLayer} in a {@link FunctionalNetwork}: time series [N, n, T] (or [N, T, n]) as
 * rows [N T, n], example-major (DL4J orders them time-major; the losses sum over rows, so the order is not seen), so
 * that the output layer is a dense layer on rows and its loss
 * a loss of rows; {@link #labelRows} gives the labels the same shape. Its gradient is the output's, reshaped back.
 *
 * @param description how messages name it
 * @param width       n, the features of each step
 * @param labelWidth  the output layer's number of outputs, the labels' features
 * @param nwc         true for [N, T, n] arrays
 */
record TimeRowsRule(String description, long width, long labelWidth, boolean nwc) implements ExplicitLayer {

    /** {@code series} as example-major rows [N T, c]. */
    private SDVariable rows(SDVariable series, long c) {
        SDVariable ntc = nwc ? series : series.getSameDiff().permute(series, 0, 2, 1);
        return ntc.reshape(-1, c);
    }

    /** The labels [N, labelWidth, T] (or [N, T, labelWidth]) as the output layer's rows. */
    SDVariable labelRows(SDVariable labels) {
        return rows(labels, labelWidth);
    }

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SDVariable rows = rows(input, width);
        return new Pass(input, rows, rows, inputShape, new long[] {width});
    }

    /**
     * A features mask ends here: DL4J scores an {@code RnnOutputLayer} by its labels mask alone (the output layer's
     * loss reads that one), and computes its output at every step.
     */
    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters, SDVariable mask) {
        return forward(input, inputShape, parameters);
    }

    @Override
    public SDVariable maskAfter(SDVariable mask) {
        return null;
    }

    /** The labels mask [N, T] as weights of the output layer's rows [N T, 1] (example-major, as the rows). */
    SDVariable maskRows(SDVariable labelMask) {
        return labelMask.reshape(-1, 1);
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (!needInputGradient) {
            return null;
        }
        SameDiff sd = outputGradient.getSameDiff();
        long[] shape = pass.inputShape();
        SDVariable ntc;
        if (shape != null) {
            ntc = outputGradient.reshape(-1, nwc ? shape[0] : shape[1], width);
        } else {
            SDVariable input = nwc ? pass.input() : sd.permute(pass.input(), 0, 2, 1);
            ntc = sd.reshape(outputGradient, sd.shape(input));
        }
        return nwc ? ntc : sd.permute(ntc, 0, 2, 1);
    }
}
