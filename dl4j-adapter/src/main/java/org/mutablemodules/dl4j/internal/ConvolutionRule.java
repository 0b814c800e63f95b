package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;

/**
 * A {@code ConvolutionLayer} of a {@link FunctionalNetwork}: {@code a = f(conv(x, W) + b)}, W [nOut, nIn, kH, kW],
 * with a backward rule made of forward ops only (libnd4j's {@code conv2d_bp} cannot be differentiated):
 * <pre>
 * dz = f'(z) dL/da
 * dL/dW[o, i, a, b] = sum over n, y, x of xp[n, i, y s + a d, x s + b d] dz[n, o, y, x]
 *                    = dz times the padded input's windows (im2col), as matrices
 * dL/db = sum of dz over examples and positions
 * dL/dx = deconv2d(dz, W) (the transposed convolution: conv2d's adjoint), cut to the input inside the padding
 * </pre>
 * where xp is x with the zeros the forward pass padded it with. Computed in NCHW (an NHWC layer's arrays are
 * permuted).
 *
 * @param description how messages name the layer
 * @param keyPrefix   the prefix of its parameter keys
 * @param rows        the window along the height
 * @param columns     the window along the width
 * @param nIn         input channels
 * @param nOut        output channels
 * @param nhwc        true for channels-last arrays
 * @param hasBias     true when the layer has a bias
 * @param biasShape   the bias parameter's shape ([1, nOut] in DL4J), or null before it is known
 * @param activation  its activation function (element-wise)
 */
record ConvolutionRule(String description, String keyPrefix, Window2d rows, Window2d columns, long nIn, long nOut,
                       boolean nhwc, boolean hasBias, long[] biasShape, DifferentiableActivation activation)
        implements ExplicitLayer {

    String weightKey() {
        return keyPrefix + "W";
    }

    String biasKey() {
        return keyPrefix + "b";
    }

    @Override
    public List<String> parameterKeys() {
        return hasBias ? List.of(weightKey(), biasKey()) : List.of(weightKey());
    }

    ConvolutionRule withBiasShape(long[] shape) {
        return new ConvolutionRule(description, keyPrefix, rows, columns, nIn, nOut, nhwc, hasBias, shape,
                activation);
    }

    /** The layer's convolution, on arrays of the given format. */
    private Conv2DConfig config(boolean channelsLast) {
        return Conv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .pH(rows.padding()).pW(columns.padding()).dH(rows.dilation()).dW(columns.dilation())
                .paddingMode(rows.same() ? PaddingMode.SAME : PaddingMode.VALID)
                .dataFormat(channelsLast ? Conv2DConfig.NHWC : Conv2DConfig.NCHW).weightsFormat(WeightsFormat.YXIO)
                .build();
    }

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SameDiff sd = input.getSameDiff();
        Conv2DConfig config = config(nhwc);
        // YXIO, as the converter: conv2d_bp ignores OIYX weights
        SDVariable weights = sd.permute(parameters.get(weightKey()), 2, 3, 1, 0);
        SDVariable z = hasBias ? sd.cnn().conv2d(input, weights, parameters.get(biasKey()).reshape(nOut), config)
                : sd.cnn().conv2d(input, weights, config);
        long[] out = null;
        if (inputShape != null && inputShape.length == 3) {
            long height = rows.out(inputShape[nhwc ? 0 : 1]);
            long width = columns.out(inputShape[nhwc ? 1 : 2]);
            out = nhwc ? new long[] {height, width, nOut} : new long[] {nOut, height, width};
        }
        return new Pass(input, z, activation.forward(z), inputShape, out);
    }

    /** {@return the height and width of a per-example shape of this layer's format} */
    private long[] spatial(long[] shape) {
        return nhwc ? new long[] {shape[0], shape[1]} : new long[] {shape[1], shape[2]};
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        SameDiff sd = outputGradient.getSameDiff();
        SDVariable dz = activation.backward(pass.preActivation(), pass.output(), outputGradient, -1);
        SDVariable dzN = nhwc ? sd.permute(dz, 0, 3, 1, 2) : dz;                   // [N, nOut, oH, oW]
        SDVariable xN = nhwc ? sd.permute(pass.input(), 0, 3, 1, 2) : pass.input(); // [N, nIn, H, W]

        // dW: the windows of the input, padded as the forward pass did, against dz, as matrices (im2col of the
        // padded region: libnd4j's im2col places Same-mode padding otherwise than conv2d)
        long[] known = pass.inputShape() == null ? null : spatial(pass.inputShape());
        Window2d.Fixed fixedHeight = known == null ? null : rows.fixed(known[0]);
        Window2d.Fixed fixedWidth = known == null ? null : columns.fixed(known[1]);
        Window2d.Sizes height = known != null ? null : rows.sizes(xN, dzN, 2);
        Window2d.Sizes width = known != null ? null : columns.sizes(xN, dzN, 3);
        SDVariable padded = known != null
                ? Window2d.region(Window2d.region(xN, 2, fixedHeight, fixedHeight.reach(), 0), 3, fixedWidth,
                        fixedWidth.reach(), 0)
                : Window2d.region(Window2d.region(xN, 2, height, height.reach(), 0), 3, width, width.reach(), 0);
        Conv2DConfig valid = Conv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .dH(rows.dilation()).dW(columns.dilation()).paddingMode(PaddingMode.VALID).build();
        SDVariable windows = sd.permute(sd.cnn().im2Col(padded, valid), 1, 2, 3, 0, 4, 5)  // [nIn, kH, kW, N, oH, oW]
                .reshape(nIn * rows.kernel() * columns.kernel(), -1);
        SDVariable dW = sd.mmul(sd.permute(dzN, 1, 0, 2, 3).reshape(nOut, -1), windows, false, true, false)
                .reshape(nOut, nIn, rows.kernel(), columns.kernel());
        gradients.put(weightKey(), dW);
        if (hasBias) {
            gradients.put(biasKey(), dzN.sum(0, 2, 3).reshape(biasShape));
        }
        if (!needInputGradient) {
            return null;
        }
        // dx: the transposed convolution over the whole padded region, then the input's part of it
        DeConv2DConfig transposed = DeConv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .dH(rows.dilation()).dW(columns.dilation()).isSameMode(false).dataFormat(DeConv2DConfig.NCHW)
                .build();
        // deconv2d's weights [kH, kW, its nOut = nIn, its nIn = nOut]
        SDVariable full = sd.cnn().deconv2d(dzN, sd.permute(parameters.get(weightKey()), 2, 3, 1, 0), transposed);
        SDVariable dx = known != null
                ? Window2d.inputPart(Window2d.inputPart(full, 2, fixedHeight, fixedHeight.reach()), 3, fixedWidth,
                        fixedWidth.reach())
                : Window2d.inputPart(Window2d.inputPart(full, 2, height, height.reach()), 3, width, width.reach());
        return nhwc ? sd.permute(dx, 0, 2, 3, 1) : dx;
    }
}
