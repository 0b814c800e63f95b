package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 2D sliding window along one axis (a convolution's or a pooling's), as DL4J and libnd4j place it, and the moves
 * between an input and the padded region its windows read that the explicit backward rules of
 * {@link ConvolutionRule} and {@link PoolingRule} share. Sizes are known when the graph is built where the input's
 * shape is ({@link Fixed}: constant paddings and slices, none where none is needed), and otherwise graph values (INT64
 * scalars) read from the arrays at run time ({@link Sizes}): DL4J fixes no height or width, so the rules work for any.
 *
 * @param kernel   the kernel size
 * @param stride   the stride
 * @param padding  the configured padding (Truncate and Strict modes)
 * @param dilation the dilation
 * @param same     true in ConvolutionMode Same (the padding is computed: half of it, rounded down, before)
 */
record Window2d(int kernel, int stride, int padding, int dilation, boolean same) {

    /**
     * One input's sizes along the axis.
     *
     * @param in     the input's size
     * @param before the zeros padded before it
     * @param reach  the length of the padded input its windows read, {@code (out - 1) * stride + extent}
     */
    record Sizes(SDVariable in, SDVariable before, SDVariable reach) {
    }

    /**
     * One input's sizes along the axis, known when the graph is built.
     *
     * @param in     the input's size
     * @param out    the output's size
     * @param before the zeros padded before the input
     * @param reach  the length of the padded input the windows read, {@code (out - 1) * stride + extent}
     */
    record Fixed(long in, long out, long before, long reach) {
    }

    /**
     * The window of a DL4J layer along one axis.
     *
     * @param description how messages name the layer
     * @throws UnsupportedLayerException in Same mode with a stride beyond the window plus one, where libnd4j would pad
     *                                   by a negative amount
     */
    static Window2d of(String description, int kernel, int stride, int padding, int dilation, ConvolutionMode mode) {
        Window2d w = new Window2d(kernel, stride, padding, dilation, mode == ConvolutionMode.Same);
        if (w.same() && stride > w.extent() + 1) {
            throw new UnsupportedLayerException(description + " has stride " + stride + " beyond its window ("
                    + w.extent() + ") plus one in ConvolutionMode Same, where the padding can be negative (DL4J "
                    + "refuses it too); lossGradients supports strides up to the window plus one there.");
        }
        return w;
    }

    /**
     * {@code mode}, if the windows have rules for it.
     *
     * @throws UnsupportedLayerException for a mode other than Same, Truncate and Strict
     */
    static ConvolutionMode mode(String description, ConvolutionMode mode) {
        if (mode != ConvolutionMode.Same && mode != ConvolutionMode.Truncate && mode != ConvolutionMode.Strict) {
            throw new UnsupportedLayerException(description + " uses ConvolutionMode " + mode + "; lossGradients "
                    + "supports Same, Truncate and Strict.");
        }
        return mode;
    }

    /** {@return the output size along the axis for an input of size {@code in}} */
    long out(long in) {
        return same ? (in + stride - 1) / stride : (in + 2L * padding - extent()) / stride + 1;
    }

    /** The sizes along the axis of an input of size {@code in}. */
    Fixed fixed(long in) {
        long out = out(in);
        long reach = (out - 1) * stride + extent();
        return new Fixed(in, out, same ? Math.max(0, reach - in) / 2 : padding, reach);
    }

    /**
     * The padded region of a rank-4 {@code v} along axes 2 (height) and 3 (width), sizes known: one pad and at most
     * one cut for both axes.
     */
    static SDVariable region(SDVariable v, Fixed height, Fixed width, double value) {
        long afterHeight = height.reach() - height.before() - height.in();
        long afterWidth = width.reach() - width.before() - width.in();
        SDVariable out = v;
        if (height.before() > 0 || afterHeight > 0 || width.before() > 0 || afterWidth > 0) {
            long[][] pads = {{0, 0}, {0, 0}, {height.before(), Math.max(0, afterHeight)},
                    {width.before(), Math.max(0, afterWidth)}};
            out = v.getSameDiff().nn().pad(out, v.getSameDiff().constant(Nd4j.createFromArray(pads)), value);
        }
        return afterHeight < 0 || afterWidth < 0 ? out.get(SDIndex.all(), SDIndex.all(),
                SDIndex.interval(0L, height.reach()), SDIndex.interval(0L, width.reach())) : out;
    }

    /**
     * The input's part of a gradient {@code v} over the padded region (rank 4, axes 2 and 3), sizes known: at most
     * one pad and one cut for both axes.
     */
    static SDVariable inputPart(SDVariable v, Fixed height, Fixed width) {
        long missingHeight = Math.max(0, height.before() + height.in() - height.reach());
        long missingWidth = Math.max(0, width.before() + width.in() - width.reach());
        SDVariable out = v;
        if (missingHeight > 0 || missingWidth > 0) {
            long[][] pads = {{0, 0}, {0, 0}, {0, missingHeight}, {0, missingWidth}};
            out = v.getSameDiff().nn().pad(out, v.getSameDiff().constant(Nd4j.createFromArray(pads)), 0);
        }
        boolean cut = height.before() > 0 || height.reach() > height.before() + height.in() || width.before() > 0
                || width.reach() > width.before() + width.in();
        return cut ? out.get(SDIndex.all(), SDIndex.all(), SDIndex.interval(height.before(),
                height.before() + height.in()), SDIndex.interval(width.before(), width.before() + width.in())) : out;
    }

    /** {@return the window's extent, {@code (kernel - 1) * dilation + 1}} */
    long extent() {
        return (long) (kernel - 1) * dilation + 1;
    }

    /** The sizes along {@code axis} of {@code input} and of the output its windows make, computed from the input's. */
    Sizes sizes(SDVariable input, int axis) {
        SameDiff sd = input.getSameDiff();
        SDVariable in = sd.sizeAt(input, axis);
        SDVariable out = same
                ? sd.math().floorDiv(in.add(scalar(sd, stride - 1)), scalar(sd, stride))
                : sd.math().floorDiv(in.add(scalar(sd, 2L * padding - extent())), scalar(sd, stride))
                        .add(scalar(sd, 1));
        SDVariable reach = out.sub(scalar(sd, 1)).mul(scalar(sd, stride)).add(scalar(sd, extent()));
        SDVariable before = same
                ? sd.math().floorDiv(sd.math().max(scalar(sd, 0), reach.sub(in)), scalar(sd, 2))
                : scalar(sd, padding);
        return new Sizes(in, before, reach);
    }

    /** The sizes along {@code axis} of {@code input} and of the output {@code output} the windows made of it. */
    Sizes sizes(SDVariable input, SDVariable output, int axis) {
        SameDiff sd = input.getSameDiff();
        SDVariable in = sd.sizeAt(input, axis);
        SDVariable reach = sd.sizeAt(output, axis).sub(scalar(sd, 1)).mul(scalar(sd, stride))
                .add(scalar(sd, extent()));
        SDVariable before = same
                ? sd.math().floorDiv(sd.math().max(scalar(sd, 0), reach.sub(in)), scalar(sd, 2))
                : scalar(sd, padding);
        return new Sizes(in, before, reach);
    }

    /**
     * The region {@code [-before, length - before)} along {@code axis} of the rank-4 {@code v}: padded with
     * {@code value} before the input and after it as far as {@code length} reaches, cut where the input goes beyond.
     */
    static SDVariable region(SDVariable v, int axis, Sizes sizes, SDVariable length, double value) {
        SameDiff sd = v.getSameDiff();
        SDVariable after = sd.math().max(scalar(sd, 0), length.sub(sizes.before()).sub(sizes.in()));
        return cut(sd.nn().pad(v, paddings(sd, axis, sizes.before(), after), value), axis, scalar(sd, 0), length);
    }

    /**
     * The part {@code [before, before + in)} along {@code axis} of {@code v}, a gradient over a padded region of
     * {@code length}: the input's part, with zeros where the region stops short of the input's end (rows no window
     * read).
     */
    static SDVariable inputPart(SDVariable v, int axis, Sizes sizes, SDVariable length) {
        SameDiff sd = v.getSameDiff();
        SDVariable missing = sd.math().max(scalar(sd, 0), sizes.before().add(sizes.in()).sub(length));
        return cut(sd.nn().pad(v, paddings(sd, axis, scalar(sd, 0), missing), 0), axis, sizes.before(),
                sizes.in());
    }

    /** {@code v}'s elements {@code [begin, begin + size)} along {@code axis}, all along the others. */
    private static SDVariable cut(SDVariable v, int axis, SDVariable begin, SDVariable size) {
        SameDiff sd = v.getSameDiff();
        SDVariable[] starts = new SDVariable[4];
        SDVariable[] sizes = new SDVariable[4];
        for (int d = 0; d < 4; d++) {
            starts[d] = d == axis ? begin : scalar(sd, 0);
            sizes[d] = d == axis ? size : scalar(sd, -1);
        }
        return sd.slice(v, sd.stack(0, starts), sd.stack(0, sizes));
    }

    private static SDVariable paddings(SameDiff sd, int axis, SDVariable before, SDVariable after) {
        SDVariable[] rows = new SDVariable[4];
        for (int d = 0; d < 4; d++) {
            rows[d] = d == axis ? sd.stack(0, before, after) : sd.stack(0, scalar(sd, 0), scalar(sd, 0));
        }
        return sd.stack(0, rows);
    }

    static SDVariable scalar(SameDiff sd, long value) {
        return sd.constant(Nd4j.scalar(value));
    }
}
