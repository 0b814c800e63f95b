package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.DataFormat;
import org.nd4j.enums.PadMode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converters of DL4J's parameterless layers that change the spatial or temporal size of activations. DL4J's 1D
 * padding, cropping and upsampling layers always act on axis 2 ([N, C, T] series), whatever the network's format.
 */
final class SpatialConverters {

    private SpatialConverters() {
    }

    /** ZeroPaddingLayer: zeros added around H and W, padding [top, bottom, left, right]. */
    static final LayerConverter<ZeroPaddingLayer> ZERO_PADDING = (ctx, layer, input) -> {
        int[] p = layer.getPadding();
        boolean nhwc = layer.getDataFormat() == CNN2DFormat.NHWC;
        long[][] padding = nhwc
                ? new long[][] {{0, 0}, {p[0], p[1]}, {p[2], p[3]}, {0, 0}}
                : new long[][] {{0, 0}, {0, 0}, {p[0], p[1]}, {p[2], p[3]}};
        return input.with(pad(ctx, input.value(), padding));
    };

    /** ZeroPadding1DLayer: zeros added before and after the time axis of [N, C, T], padding [left, right]. */
    static final LayerConverter<ZeroPadding1DLayer> ZERO_PADDING_1D = (ctx, layer, input) -> {
        int[] p = layer.getPadding();
        return input.with(pad(ctx, input.value(), new long[][] {{0, 0}, {0, 0}, {p[0], p[1]}}));
    };

    /** Cropping2D: rows and columns removed from the borders of H and W, cropping [top, bottom, left, right]. */
    static final LayerConverter<Cropping2D> CROPPING = (ctx, layer, input) -> {
        int[] c = layer.getCropping();
        boolean nhwc = layer.getDataFormat() == CNN2DFormat.NHWC;
        long[] begin = nhwc ? new long[] {0, c[0], c[2], 0} : new long[] {0, 0, c[0], c[2]};
        long[] removed = nhwc
                ? new long[] {0, c[0] + c[1], c[2] + c[3], 0}
                : new long[] {0, 0, c[0] + c[1], c[2] + c[3]};
        return input.with(crop(ctx, input.value(), begin, removed));
    };

    /** Cropping1D: steps removed from both ends of the time axis of [N, C, T], cropping [start, end]. */
    static final LayerConverter<Cropping1D> CROPPING_1D = (ctx, layer, input) -> {
        int[] c = layer.getCropping();
        return input.with(crop(ctx, input.value(), new long[] {0, 0, c[0]}, new long[] {0, 0, c[0] + c[1]}));
    };

    /** Upsampling2D: each pixel repeated size[0] times along H and size[1] times along W. */
    static final LayerConverter<Upsampling2D> UPSAMPLING = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        int[] size = layer.getSize();
        if (layer.getFormat() == CNN2DFormat.NHWC) {
            // libnd4j's upsampling2d_bp is wrong for NHWC activations (seen by finite differences); its NCHW
            // backprop is right, so the NHWC activations are upsampled as NCHW.
            SDVariable nchw = sd.permute(input.value(), 0, 3, 1, 2);
            return input.with(sd.permute(sd.cnn().upsampling2d(nchw, size[0], size[1], true), 0, 2, 3, 1));
        }
        return input.with(sd.cnn().upsampling2d(input.value(), size[0], size[1], true));
    };

    /** Upsampling1D: each time step of [N, C, T] repeated size[0] times. */
    static final LayerConverter<Upsampling1D> UPSAMPLING_1D = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        SDVariable image = sd.expandDims(input.value(), 3);
        return input.with(sd.squeeze(sd.cnn().upsampling2d(image, layer.getSize()[0], 1, true), 3));
    };

    /**
     * SpaceToDepthLayer with block size b: output channel {@code (i * b + j) * C + c} at (y, x) is input channel c at
     * {@code (b * y + i, b * x + j)}.
     */
    static final LayerConverter<SpaceToDepthLayer> SPACE_TO_DEPTH = (ctx, layer, input) -> {
        DataFormat format = layer.getDataFormat() == CNN2DFormat.NHWC ? DataFormat.NHWC : DataFormat.NCHW;
        return input.with(ctx.sd().cnn().spaceToDepth(input.value(), layer.getBlockSize(), format));
    };

    /**
     * {@code x} with {@code padding[axis] = {before, after}} zeros along each axis. libnd4j's pad backprop (a slice)
     * passes the finite-difference check for 3D and 4D activations, asymmetric padding included.
     */
    private static SDVariable pad(ConversionContext ctx, SDVariable x, long[][] padding) {
        return ctx.sd().nn().pad(x, ctx.sd().constant(Nd4j.createFromArray(padding)), PadMode.CONSTANT, 0.0);
    }

    /**
     * The part of {@code x} that starts at {@code begin} and is {@code removed} shorter along each axis. The spatial
     * sizes are not known when the graph is built: unless nothing is cut at the ends (a slice to the end, size -1),
     * the slice's size is computed at run time.
     */
    private static SDVariable crop(ConversionContext ctx, SDVariable x, long[] begin, long[] removed) {
        SameDiff sd = ctx.sd();
        if (Arrays.equals(begin, removed)) {
            int[] start = new int[begin.length];
            int[] toEnd = new int[begin.length];
            for (int i = 0; i < begin.length; i++) {
                start[i] = (int) begin[i];
                toEnd[i] = -1;
            }
            return sd.slice(x, start, toEnd);
        }
        SDVariable size = sd.shape(x).castTo(DataType.INT64).sub(sd.constant(Nd4j.createFromArray(removed)));
        return sd.slice(x, sd.constant(Nd4j.createFromArray(begin)), size);
    }
}
