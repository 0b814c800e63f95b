package org.mutablemodules.dl4j.internal;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A max- or average-pooling {@code SubsamplingLayer} of a {@link FunctionalNetwork}, with a backward rule made of ops
 * SameDiff can differentiate (libnd4j's {@code maxpool2d_bp} and {@code avgpool2d_bp} cannot be):
 * <pre>
 * windows  = the padded input's windows, [N, C, oH, oW, K] (K = kH kW)
 * max:     spread = onehot(argmax over K of windows) dL/dy    (the first of the largest values, as maxpool2d_bp)
 * average: spread = dL/dy / count                              (count: K, or the window's cells inside the input)
 * dL/dx    = each window's spread added back where the window read it, cut to the input inside the padding
 * </pre>
 * The argmax is an integer, through which no gradient flows: the max rule is piecewise linear. Windows that tile the
 * input (stride equal to the kernel, no dilation) are cut out and put back by reshapes; others by {@code im2col} and
 * by a transposed convolution ({@code deconv2d}) with the identity kernel, which adds every window's cells back onto
 * the positions they came from (overlapping windows add up). Computed in NCHW (an NHWC layer's arrays are permuted).
 *
 * @param description    how messages name the layer
 * @param rows           the window along the height
 * @param columns        the window along the width
 * @param nhwc           true for channels-last arrays
 * @param max            true for max pooling, false for average pooling
 * @param divideByWindow for average pooling, true when the divisor is the window's size, padding included (DL4J's
 *                       {@code avgPoolIncludePadInDivisor}), false when it counts the cells inside the input only
 */
record PoolingRule(String description, Window2d rows, Window2d columns, boolean nhwc, boolean max,
                   boolean divideByWindow) implements ExplicitLayer {

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SameDiff sd = input.getSameDiff();
        Pooling2DConfig config = Pooling2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .pH(rows.padding()).pW(columns.padding()).dH(rows.dilation()).dW(columns.dilation())
                .paddingMode(rows.same() ? PaddingMode.SAME : PaddingMode.VALID).isNHWC(nhwc)
                .extra(0).build();
        SDVariable y;
        if (max) {
            y = sd.cnn().maxPooling2d(input, config);
        } else if (!divideByWindow || !padded()) {
            y = sd.cnn().avgPooling2d(input, config);     // divides by the cells inside the input; a right gradient
        } else {
            // avgpool2d's gradient is wrong when its divisor includes the padding (ND4J-NOTES): the windows' sums
            SDVariable x = nhwc ? sd.permute(input, 0, 3, 1, 2) : input;
            Geometry g = geometry(sd, x, inputShape, null);
            SDVariable sums = windows(sd, g, x, 0).sum(4).div(count(sd, g, x));
            y = nhwc ? sd.permute(sums, 0, 2, 3, 1) : sums;
        }
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
        SDVariable dy = nhwc ? sd.permute(outputGradient, 0, 3, 1, 2) : outputGradient;   // [N, C, oH, oW]
        SDVariable x = nhwc ? sd.permute(pass.input(), 0, 3, 1, 2) : pass.input();       // [N, C, H, W]
        SDVariable y = nhwc ? sd.permute(pass.output(), 0, 3, 1, 2) : pass.output();
        Geometry g = geometry(sd, x, pass.inputShape(), y);
        SDVariable spread;
        if (max) {
            double lowest = x.dataType() == DataType.DOUBLE ? -Double.MAX_VALUE : -Float.MAX_VALUE;
            SDVariable firstMaximum = sd.oneHot(sd.argmax(windows(sd, g, x, lowest), 4), (int) windowSize(), -1, 1.0,
                    0.0, x.dataType());
            spread = firstMaximum.mul(sd.expandDims(dy, 4));
        } else {
            spread = sd.expandDims(dy.div(count(sd, g, x)), 4).mul(sd.constant(Nd4j.ones(x.dataType(),
                    windowSize())));
        }
        SDVariable dx = g.inputPart(placeBack(sd, g, spread));
        return nhwc ? sd.permute(dx, 0, 2, 3, 1) : dx;
    }

    /** True when windows can reach into padding. */
    private boolean padded() {
        return rows.same() || rows.padding() > 0 || columns.padding() > 0;
    }

    private long windowSize() {
        return (long) rows.kernel() * columns.kernel();
    }

    /** True when the windows tile the input: cut out and put back by reshapes alone. */
    private boolean tiles() {
        return rows.stride() == rows.kernel() && columns.stride() == columns.kernel() && rows.dilation() == 1
                && columns.dilation() == 1;
    }

    /**
     * The sizes of one pass: constants where the input's per-example shape is known, else read at run time from the
     * input and (for the backward pass) the output, or from the windows' count.
     */
    private Geometry geometry(SameDiff sd, SDVariable x, long[] inputShape, SDVariable y) {
        if (inputShape != null) {
            long c = nhwc ? inputShape[2] : inputShape[0];
            return new Geometry(sd, c, rows.fixed(nhwc ? inputShape[0] : inputShape[1]),
                    columns.fixed(nhwc ? inputShape[1] : inputShape[2]), null, null, null, null);
        }
        SDVariable out = y != null ? y : runTimeOutput(sd, x);
        return new Geometry(sd, -1, null, null, rows.sizes(x, out, 2), columns.sizes(x, out, 3), sd.sizeAt(x, 1),
                new SDVariable[] {sd.sizeAt(out, 2), sd.sizeAt(out, 3)});
    }

    /** An array of the output's height and width, computed from x's without the sizes known (max pooling of x). */
    private SDVariable runTimeOutput(SameDiff sd, SDVariable x) {
        return sd.cnn().maxPooling2d(sd.slice(x, sd.constant(Nd4j.createFromArray(0L, 0L, 0L, 0L)),
                sd.constant(Nd4j.createFromArray(1L, 1L, -1L, -1L))), Pooling2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .pH(rows.padding()).pW(columns.padding()).dH(rows.dilation()).dW(columns.dilation())
                .paddingMode(rows.same() ? PaddingMode.SAME : PaddingMode.VALID).build());
    }

    /** The windows of {@code v} [N, C, H, W] padded with {@code value}: [N, C, oH, oW, K]. */
    private SDVariable windows(SameDiff sd, Geometry g, SDVariable v, double value) {
        SDVariable region = g.region(v, value);
        if (tiles()) {
            return g.reshape(sd.permute(g.reshape(region, g.c(), g.out(0), kernel(0), g.out(1), kernel(1)),
                    0, 1, 2, 4, 3, 5), g.c(), g.out(0), g.out(1), new Dim(windowSize(), null));
        }
        Conv2DConfig valid = Conv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .dH(rows.dilation()).dW(columns.dilation()).paddingMode(PaddingMode.VALID).build();
        SDVariable cols = sd.cnn().im2Col(region, valid);                     // [N, C, kH, kW, oH, oW]
        return g.reshape(sd.permute(cols, 0, 1, 4, 5, 2, 3), g.c(), g.out(0), g.out(1),
                new Dim(windowSize(), null));
    }

    /** Each window's cells {@code spread} [N, C, oH, oW, K] added back onto the padded region they were read from. */
    private SDVariable placeBack(SameDiff sd, Geometry g, SDVariable spread) {
        if (tiles()) {
            return g.reshape(sd.permute(g.reshape(spread, g.c(), g.out(0), g.out(1), kernel(0), kernel(1)),
                    0, 1, 2, 4, 3, 5), g.c(), g.reach(0), g.reach(1));
        }
        // [N C, K, oH, oW] through deconv2d with the identity kernel [kH, kW, 1, K]: cell (a, b) of every window
        // goes to its own position, overlapping windows add up
        SDVariable perChannel = sd.permute(g.reshape(spread, g.out(0), g.out(1), new Dim(windowSize(), null)),
                0, 3, 1, 2);
        long k = windowSize();
        SDVariable identity = sd.constant(Nd4j.eye(k).castTo(spread.dataType()).reshape(rows.kernel(),
                columns.kernel(), 1, k));
        DeConv2DConfig transposed = DeConv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .dH(rows.dilation()).dW(columns.dilation()).isSameMode(false).dataFormat(DeConv2DConfig.NCHW)
                .build();
        return g.reshape(sd.cnn().deconv2d(perChannel, identity, transposed), g.c(), g.reach(0), g.reach(1));
    }

    /**
     * The divisor of each window, [1, 1, oH, oW] or a scalar: the window's size, or (for windows that reach into
     * the padding, when the divisor leaves it out) the number of the window's cells inside the input.
     */
    private SDVariable count(SameDiff sd, Geometry g, SDVariable x) {
        if (divideByWindow || !padded()) {
            return sd.constant(Nd4j.scalar(x.dataType(), (double) windowSize()));
        }
        SDVariable ones = g.known()
                ? sd.constant(Nd4j.ones(x.dataType(), 1, 1, g.height().in(), g.width().in()))
                : sd.onesLike(sd.slice(x, sd.constant(Nd4j.createFromArray(0L, 0L, 0L, 0L)),
                        sd.constant(Nd4j.createFromArray(1L, 1L, -1L, -1L))));
        return windows(sd, g.oneChannel(), ones, 0).sum(4);
    }

    /** {@return the kernel's size along {@code axis} (0: height, 1: width)} */
    private Dim kernel(int axis) {
        return new Dim(axis == 0 ? rows.kernel() : columns.kernel(), null);
    }

    /** The sizes of one pass in NCHW, either known ({@code channelCount}, {@code height}, {@code width}) or graph values. */
    private record Geometry(SameDiff sd, long channelCount, Window2d.Fixed height, Window2d.Fixed width, Window2d.Sizes rows,
                            Window2d.Sizes columns, SDVariable channels, SDVariable[] outs) {

        boolean known() {
            return height != null;
        }

        /** The same geometry for a single channel (the divisor's count). */
        Geometry oneChannel() {
            return new Geometry(sd, 1, height, width, rows, columns, known() ? null : Window2d.scalar(sd, 1), outs);
        }

        Dim c() {
            return known() ? new Dim(channelCount, null) : new Dim(-1, channels);
        }

        Dim out(int axis) {
            return known() ? new Dim((axis == 0 ? height : width).out(), null) : new Dim(-1, outs[axis]);
        }

        Dim reach(int axis) {
            return known() ? new Dim((axis == 0 ? height : width).reach(), null)
                    : new Dim(-1, (axis == 0 ? rows : columns).reach());
        }

        SDVariable region(SDVariable v, double value) {
            return known()
                    ? Window2d.region(v, height, width, value)
                    : Window2d.region(Window2d.region(v, 2, rows, rows.reach(), value), 3, columns, columns.reach(),
                            value);
        }

        SDVariable inputPart(SDVariable v) {
            return known()
                    ? Window2d.inputPart(v, height, width)
                    : Window2d.inputPart(Window2d.inputPart(v, 2, rows, rows.reach()), 3, columns, columns.reach());
        }

        /** {@code v} reshaped to [-1, dims...]: constant shapes where every size is known. */
        SDVariable reshape(SDVariable v, Dim... dims) {
            boolean constant = true;
            for (Dim d : dims) {
                constant &= d.variable() == null;
            }
            if (constant) {
                long[] shape = new long[dims.length + 1];
                shape[0] = -1;
                for (int i = 0; i < dims.length; i++) {
                    shape[i + 1] = dims[i].value();
                }
                return v.reshape(shape);
            }
            SDVariable[] shape = new SDVariable[dims.length + 1];
            shape[0] = Window2d.scalar(sd, -1);
            for (int i = 0; i < dims.length; i++) {
                shape[i + 1] = dims[i].of(sd);
            }
            return sd.reshape(v, sd.stack(0, shape));
        }
    }

    /** A size: a constant, or a graph value (an INT64 scalar) where not known. */
    private record Dim(long value, SDVariable variable) {

        SDVariable of(SameDiff sd) {
            return variable != null ? variable : Window2d.scalar(sd, value);
        }
    }
}
