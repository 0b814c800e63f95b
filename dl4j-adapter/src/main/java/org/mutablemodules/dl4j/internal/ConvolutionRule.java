package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@code ConvolutionLayer} of a {@link FunctionalNetwork}: {@code a = f(conv(x, W) + b)}, W [nOut, nIn, kH, kW],
 * computed from the windows of the padded input ({@code im2col}) as one matrix product, with a backward rule made of
 * forward ops only (libnd4j's {@code conv2d_bp} cannot be differentiated):
 * <pre>
 * X_n = the windows of xp_n as a matrix [nIn kH kW, oH oW]   (xp: x with the zeros the layer pads it with)
 * z_n = W X_n + b                                              (W as [nOut, nIn kH kW]; one batched matmul)
 * dz = f'(z) dL/da
 * dL/dW = sum over n of dz_n X_n^T          dL/db = sum of dz over examples and positions
 * dL/dx = the transposed convolution of dz with W (conv2d's adjoint), cut to the input inside the padding: for
 *         stride 1 the windows of dz padded by the extent less one times W flipped (a batched product), else
 *         deconv2d
 * </pre>
 * The forward pass and the weight gradient share the windows, a reshape of {@code im2col}'s output (no copy).
 * Computing z so rather than by {@code conv2d} also keeps libnd4j's {@code conv2d_bp} (several times slower than the
 * convolution on small images) out of the meta-gradient: SameDiff differentiates the product and {@code im2col}
 * instead. Computed in NCHW (an NHWC layer's arrays are permuted).
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

    /**
     * The rule of a DL4J convolution layer.
     *
     * @throws UnsupportedLayerException if its convolution mode or windows have no rule (named in the message)
     */
    static ConvolutionRule of(String description, String keyPrefix, ConvolutionLayer conv,
                              DifferentiableActivation activation) {
        ConvolutionMode mode = Window2d.mode(description, conv.getConvolutionMode());
        int[] k = conv.getKernelSize();
        int[] s = conv.getStride();
        int[] p = conv.getPadding();
        int[] d = conv.getDilation();
        return new ConvolutionRule(description, keyPrefix, Window2d.of(description, k[0], s[0], p[0], d[0], mode),
                Window2d.of(description, k[1], s[1], p[1], d[1], mode), conv.getNIn(), conv.getNOut(),
                conv.getCnn2dDataFormat() == CNN2DFormat.NHWC, conv.hasBias(), null, activation);
    }

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

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SDVariable[] convolved = convolve(input, inputShape, parameters.get(weightKey()),
                hasBias ? parameters.get(biasKey()) : null);
        SDVariable z = convolved[0];
        long[] out = null;
        if (inputShape != null) {
            long[] known = spatial(inputShape);
            long height = rows.out(known[0]);
            long width = columns.out(known[1]);
            out = nhwc ? new long[] {height, width, nOut} : new long[] {nOut, height, width};
        }
        return new Pass(input, z, activation.forward(z), inputShape, out, List.<SDVariable[]>of(
                new SDVariable[] {convolved[1]}));
    }

    /**
     * The layer's pre-activation {@code z = conv(x, W) + b}, in the layer's format, computed as {@code W X + b} from
     * the windows X of the padded input, and X itself: {@code {z, X}}. The converter computes a functional call's
     * convolutions so too (SameDiff then differentiates a matrix product and {@code im2col}, not libnd4j's slow
     * {@code conv2d_bp}).
     *
     * @param inputShape the input's per-example shape if known, else null (sizes read at run time)
     * @param weight     W, [nOut, nIn, kH, kW]
     * @param bias       b (any shape of nOut values), or null for none
     */
    SDVariable[] convolve(SDVariable input, long[] inputShape, SDVariable weight, SDVariable bias) {
        SameDiff sd = input.getSameDiff();
        SDVariable xN = nhwc ? sd.permute(input, 0, 3, 1, 2) : input;                   // [N, nIn, H, W]
        long[] known = inputShape == null ? null : spatial(inputShape);
        SDVariable cols;
        SDVariable outHeight = null;
        SDVariable outWidth = null;
        if (known != null) {
            Window2d.Fixed height = rows.fixed(known[0]);
            Window2d.Fixed width = columns.fixed(known[1]);
            cols = sd.cnn().im2Col(Window2d.region(xN, height, width, 0), windowsConfig());
        } else {
            Window2d.Sizes height = rows.sizes(xN, 2);
            Window2d.Sizes width = columns.sizes(xN, 3);
            cols = sd.cnn().im2Col(Window2d.region(Window2d.region(xN, 2, height, height.reach(), 0), 3, width,
                    width.reach(), 0), windowsConfig());
            outHeight = sd.sizeAt(cols, 4);
            outWidth = sd.sizeAt(cols, 5);
        }
        long kernelVolume = nIn * rows.kernel() * columns.kernel();
        // [N, nIn, kH, kW, oH, oW] as N matrices X [nIn kH kW, oH oW] (a reshape: the windows are not copied) and
        // W [nOut, nIn kH kW] once per example (libnd4j's batched matmul does not broadcast)
        SDVariable examples = sd.sizeAt(cols, 0);
        SDVariable windows = sd.reshape(cols, sd.stack(0, examples, Window2d.scalar(sd, kernelVolume),
                Window2d.scalar(sd, -1)));
        // broadcast by adding zeros [N, 1, 1]: tile's backward op is several times slower than add's
        SDVariable perExample = sd.expandDims(weight.reshape(nOut, kernelVolume), 0).add(sd.fill(
                sd.stack(0, examples, Window2d.scalar(sd, 1), Window2d.scalar(sd, 1)), weight.dataType(), 0));
        SDVariable z3 = sd.mmul(perExample, windows);                                    // [N, nOut, oH oW]
        if (bias != null) {
            z3 = z3.add(bias.reshape(1, nOut, 1));
        }
        SDVariable grid = known != null
                ? z3.reshape(-1, nOut, rows.out(known[0]), columns.out(known[1]))
                : sd.reshape(z3, sd.stack(0, Window2d.scalar(sd, -1), Window2d.scalar(sd, nOut), outHeight,
                        outWidth));
        SDVariable z = nhwc ? sd.permute(grid, 0, 2, 3, 1) : grid;
        return new SDVariable[] {z, windows};
    }

    /** The windows' convolution without padding (the region the windows read is padded explicitly). */
    private Conv2DConfig windowsConfig() {
        return Conv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(rows.stride()).sW(columns.stride())
                .dH(rows.dilation()).dW(columns.dilation()).paddingMode(PaddingMode.VALID).build();
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
        SDVariable dzN = nhwc ? sd.permute(dz, 0, 3, 1, 2) : dz;                      // [N, nOut, oH, oW]
        long[] out = pass.outputShape();
        SDVariable dz3 = out != null ? dzN.reshape(-1, nOut, out[0] * out[1] * out[2] / nOut)
                : sd.reshape(dzN, sd.stack(0, sd.sizeAt(dzN, 0), Window2d.scalar(sd, nOut), Window2d.scalar(sd, -1)));
        SDVariable windows = pass.steps().get(0)[0];                                   // [N, nIn kH kW, oH oW]
        gradients.put(weightKey(), sd.mmul(dz3, windows, false, true, false).sum(0)
                .reshape(nOut, nIn, rows.kernel(), columns.kernel()));
        if (hasBias) {
            gradients.put(biasKey(), dz3.sum(0, 2).reshape(biasShape));
        }
        if (!needInputGradient) {
            return null;
        }
        // dx: the transposed convolution over the whole padded region, then the input's part of it
        SDVariable full = rows.stride() == 1 && columns.stride() == 1
                ? fullCorrelation(dzN, parameters.get(weightKey()))
                : sd.cnn().deconv2d(dzN, sd.permute(parameters.get(weightKey()), 2, 3, 1, 0),   // [kH, kW, nIn, nOut]
                        DeConv2DConfig.builder().kH(rows.kernel()).kW(columns.kernel())
                                .sH(rows.stride()).sW(columns.stride()).dH(rows.dilation()).dW(columns.dilation())
                                .isSameMode(false).dataFormat(DeConv2DConfig.NCHW).build());
        SDVariable dx;
        if (pass.inputShape() != null) {
            long[] known = spatial(pass.inputShape());
            dx = Window2d.inputPart(full, rows.fixed(known[0]), columns.fixed(known[1]));
        } else {
            SDVariable xN = nhwc ? sd.permute(pass.input(), 0, 3, 1, 2) : pass.input();
            Window2d.Sizes height = rows.sizes(xN, 2);
            Window2d.Sizes width = columns.sizes(xN, 3);
            dx = Window2d.inputPart(Window2d.inputPart(full, 2, height, height.reach()), 3, width, width.reach());
        }
        return nhwc ? sd.permute(dx, 0, 2, 3, 1) : dx;
    }

    /**
     * The transposed convolution of {@code dz} [N, nOut, oH, oW] for stride 1, [N, nIn, reachH, reachW]: the
     * windows of dz padded by the window's extent less one, times the kernel flipped in space with its channels
     * swapped, as one batched product (libnd4j's deconv2d and its backward op take 0.3 ms each on small images).
     */
    private SDVariable fullCorrelation(SDVariable dz, SDVariable weight) {
        SameDiff sd = dz.getSameDiff();
        long padHeight = rows.extent() - 1;
        long padWidth = columns.extent() - 1;
        SDVariable padded = sd.nn().pad(dz, sd.constant(Nd4j.createFromArray(new long[][] {{0, 0}, {0, 0},
                {padHeight, padHeight}, {padWidth, padWidth}})), 0);
        SDVariable cols = sd.cnn().im2Col(padded, Conv2DConfig.builder()
                .kH(rows.kernel()).kW(columns.kernel()).sH(1).sW(1).dH(rows.dilation()).dW(columns.dilation())
                .paddingMode(PaddingMode.VALID).build());                  // [N, nOut, kH, kW, reachH, reachW]
        long kernelVolume = nOut * rows.kernel() * columns.kernel();
        SDVariable examples = sd.sizeAt(cols, 0);
        SDVariable windows = sd.reshape(cols, sd.stack(0, examples, Window2d.scalar(sd, kernelVolume),
                Window2d.scalar(sd, -1)));
        // W [nOut, nIn, kH, kW] as [nIn, nOut, kH kW] with each kernel's cells in reverse order, by a product with
        // the exchange matrix (libnd4j's reverse and its backward op take 30-50 us each)
        long cells = (long) rows.kernel() * columns.kernel();
        INDArray reversal = Nd4j.zeros(weight.dataType(), cells, cells);
        for (long i = 0; i < cells; i++) {
            reversal.putScalar(i, cells - 1 - i, 1.0);
        }
        SDVariable exchange = sd.constant(reversal);
        SDVariable flipped = sd.mmul(sd.permute(weight.reshape(nOut, nIn, cells), 1, 0, 2).reshape(-1, cells),
                exchange).reshape(nIn, kernelVolume);
        SDVariable perExample = sd.expandDims(flipped, 0).add(sd.fill(
                sd.stack(0, examples, Window2d.scalar(sd, 1), Window2d.scalar(sd, 1)), weight.dataType(), 0));
        return sd.reshape(sd.mmul(perExample, windows), sd.stack(0, examples, Window2d.scalar(sd, nIn),
                sd.sizeAt(cols, 4), sd.sizeAt(cols, 5)));
    }
}
