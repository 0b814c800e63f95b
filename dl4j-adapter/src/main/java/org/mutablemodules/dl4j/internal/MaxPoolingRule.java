package org.mutablemodules.dl4j.internal;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;

/**
 * A max-pooling {@code SubsamplingLayer} of a {@link FunctionalNetwork} whose windows tile the input (stride equal to
 * the kernel, no dilation), with a backward rule made of ops SameDiff can differentiate (libnd4j's
 * {@code maxpool2d_bp} cannot be): each window's gradient goes to the first of its largest values, as
 * {@code maxpool2d_bp} sends it. The windows are cut out of the padded input by reshapes, the position of each
 * window's maximum is an {@code argmax} (an integer, through which no gradient flows: the rule is piecewise linear),
 * and the gradient is that position's one-hot times the output's gradient, put back by the inverse reshapes. Computed
 * in NCHW (an NHWC layer's arrays are permuted).
 *
 * @param description how messages name the layer
 * @param rows        the window along the height
 * @param columns     the window along the width
 * @param nhwc        true for channels-last arrays
 */
record MaxPoolingRule(String description, Window2d rows, Window2d columns, boolean nhwc)
        implements ExplicitLayer {

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SameDiff sd = input.getSameDiff();
        SDVariable y = sd.cnn().maxPooling2d(input, Pooling2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .pH(rows.padding()).pW(columns.padding()).dH(1).dW(1)
                .paddingMode(rows.same() ? PaddingMode.SAME : PaddingMode.VALID).isNHWC(nhwc).build());
        long[] out = null;
        if (inputShape != null && inputShape.length == 3) {
            long height = rows.out(inputShape[nhwc ? 0 : 1]);
            long width = columns.out(inputShape[nhwc ? 1 : 2]);
            out = nhwc ? new long[] {height, width, inputShape[2]} : new long[] {inputShape[0], height, width};
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
        SDVariable g = nhwc ? sd.permute(outputGradient, 0, 3, 1, 2) : outputGradient;   // [N, C, oH, oW]
        SDVariable x = nhwc ? sd.permute(pass.input(), 0, 3, 1, 2) : pass.input();       // [N, C, H, W]
        double lowest = x.dataType() == DataType.DOUBLE ? -Double.MAX_VALUE : -Float.MAX_VALUE;
        SDVariable dx = pass.inputShape() != null ? knownSizes(sd, x, g, pass.inputShape(), lowest)
                : readSizes(sd, x, g, nhwc ? sd.permute(pass.output(), 0, 3, 1, 2) : pass.output(), lowest);
        return nhwc ? sd.permute(dx, 0, 2, 3, 1) : dx;
    }

    /** The rule with the input's per-example shape known: constant shapes, no shape ops. */
    private SDVariable knownSizes(SameDiff sd, SDVariable x, SDVariable g, long[] shape, double lowest) {
        long c = nhwc ? shape[2] : shape[0];
        Window2d.Fixed height = rows.fixed(nhwc ? shape[0] : shape[1]);
        Window2d.Fixed width = columns.fixed(nhwc ? shape[1] : shape[2]);
        long kH = rows.kernel();
        long kW = columns.kernel();
        long oH = height.out();
        long oW = width.out();
        // the windows' region (they tile it: its length is out * kernel), padding never the maximum
        SDVariable region = Window2d.region(Window2d.region(x, 2, height, height.reach(), lowest), 3, width,
                width.reach(), lowest);
        SDVariable windows = sd.permute(region.reshape(-1, c, oH, kH, oW, kW), 0, 1, 2, 4, 3, 5)
                .reshape(-1, c, oH, oW, kH * kW);
        SDVariable spread = firstMaximum(sd, windows, x.dataType()).mul(g.reshape(-1, c, oH, oW, 1));
        SDVariable back = sd.permute(spread.reshape(-1, c, oH, oW, kH, kW), 0, 1, 2, 4, 3, 5)
                .reshape(-1, c, height.reach(), width.reach());
        return Window2d.inputPart(Window2d.inputPart(back, 2, height, height.reach()), 3, width, width.reach());
    }

    /** The rule with sizes read from the arrays at run time (an input of unknown height or width). */
    private SDVariable readSizes(SameDiff sd, SDVariable x, SDVariable g, SDVariable y, double lowest) {
        Window2d.Sizes height = rows.sizes(x, y, 2);
        Window2d.Sizes width = columns.sizes(x, y, 3);
        SDVariable n = sd.sizeAt(x, 0);
        SDVariable c = sd.sizeAt(x, 1);
        SDVariable oH = sd.sizeAt(y, 2);
        SDVariable oW = sd.sizeAt(y, 3);
        SDVariable kH = Window2d.scalar(sd, rows.kernel());
        SDVariable kW = Window2d.scalar(sd, columns.kernel());
        SDVariable region = Window2d.region(Window2d.region(x, 2, height, height.reach(), lowest), 3, width,
                width.reach(), lowest);
        SDVariable windows = sd.reshape(sd.permute(sd.reshape(region, sd.stack(0, n, c, oH, kH, oW, kW)),
                0, 1, 2, 4, 3, 5), sd.stack(0, n, c, oH, oW, kH.mul(kW)));
        SDVariable spread = firstMaximum(sd, windows, x.dataType()).mul(sd.expandDims(g, 4));
        SDVariable back = sd.reshape(sd.permute(sd.reshape(spread, sd.stack(0, n, c, oH, oW, kH, kW)),
                0, 1, 2, 4, 3, 5), sd.stack(0, n, c, height.reach(), width.reach()));
        return Window2d.inputPart(Window2d.inputPart(back, 2, height, height.reach()), 3, width, width.reach());
    }

    /** One-hot of each window's first maximum along the last axis (an integer argmax: no gradient flows through). */
    private SDVariable firstMaximum(SameDiff sd, SDVariable windows, DataType type) {
        return sd.oneHot(sd.argmax(windows, 4), rows.kernel() * columns.kernel(), -1, 1.0, 0.0, type);
    }
}
