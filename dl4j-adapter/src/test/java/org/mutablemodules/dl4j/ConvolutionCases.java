package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution1D;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Cases of {@link LayerParityTest}: DL4J's deconvolution, depthwise, separable and 1D convolution layers, 1D
 * subsampling, and the parameterless padding, cropping, upsampling and space-to-depth layers, in each data format
 * and convolution mode. Most layers follow one with parameters (a convolution or an LSTM), so that the
 * finite-difference check also covers the gradients they pass back.
 */
final class ConvolutionCases {

    private static final int N = 4;
    private static final int OUT = 2;

    private ConvolutionCases() {
    }

    /** A network over [N, c, h, w] (or [N, h, w, c]) images: the layers, then an MSE output layer. */
    private static Case image(String name, int h, int w, int c, CNN2DFormat format, Layer... layers) {
        long[] shape = format == CNN2DFormat.NHWC ? new long[] {N, h, w, c} : new long[] {N, c, h, w};
        return new Case(name, type -> Networks.network(type, InputType.convolutional(h, w, c, format),
                withOutput(layers)), type -> Networks.randn(type, 1, shape), type -> Networks.randn(type, 2, N, OUT),
                true, false);
    }

    /**
     * A network over [N, c, t] (or [N, t, c]) series: the layers, then an average over time and an MSE output layer.
     */
    private static Case series(String name, int c, int t, RNNFormat format, Layer... layers) {
        long[] shape = format == RNNFormat.NWC ? new long[] {N, t, c} : new long[] {N, c, t};
        Layer[] all = new Layer[layers.length + 1];
        System.arraycopy(layers, 0, all, 0, layers.length);
        all[layers.length] = new GlobalPoolingLayer.Builder(PoolingType.AVG)
                .poolingDimensions(format == RNNFormat.NWC ? 1 : 2).build();
        return new Case(name, type -> Networks.network(type, InputType.recurrent(c, t, format), withOutput(all)),
                type -> Networks.randn(type, 1, shape), type -> Networks.randn(type, 2, N, OUT), true, false);
    }

    /** Copies of the layers (DL4J sets their sizes and formats in place), then an MSE output layer. */
    private static Layer[] withOutput(Layer... layers) {
        Layer[] all = new Layer[layers.length + 1];
        for (int i = 0; i < layers.length; i++) {
            all[i] = layers[i].clone();
        }
        all[layers.length] = new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(OUT)
                .build();
        return all;
    }

    private static ConvolutionLayer conv(int k, int nOut) {
        return new ConvolutionLayer.Builder(k, k).nOut(nOut).activation(Activation.TANH).build();
    }

    private static LSTM lstm(int nOut) {
        return new LSTM.Builder().nOut(nOut).activation(Activation.TANH).build();
    }

    private static Convolution1DLayer conv1d(int k, int nOut) {
        return new Convolution1DLayer.Builder(k).nOut(nOut).activation(Activation.TANH).build();
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.addAll(convolutions());
        cases.addAll(oneDimensional());
        cases.addAll(spatial());
        return cases;
    }

    private static List<Case> convolutions() {
        List<Case> cases = new ArrayList<>();
        cases.add(image("deconvolution NCHW truncate, stride 2, padding 1, after a convolution", 5, 5, 2,
                CNN2DFormat.NCHW, conv(2, 3),
                new Deconvolution2D.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(2).activation(Activation.TANH)
                        .build()));
        cases.add(image("deconvolution NHWC same mode, stride 2, dilation 2, no bias, after a convolution", 4, 5, 2,
                CNN2DFormat.NHWC, conv(2, 2),
                new Deconvolution2D.Builder(2, 3).stride(2, 2).dilation(2, 2).convolutionMode(ConvolutionMode.Same)
                        .hasBias(false).nOut(3).activation(Activation.SIGMOID).build()));
        cases.add(image("deconvolution NCHW strict, kernel 2x3, stride (1, 2)", 4, 4, 3, CNN2DFormat.NCHW,
                new Deconvolution2D.Builder(2, 3).stride(1, 2).convolutionMode(ConvolutionMode.Strict)
                        .nOut(2).activation(Activation.IDENTITY).build()));
        cases.add(image("depthwise NCHW, multiplier 2, stride 2, padding 1, after a convolution", 6, 6, 2,
                CNN2DFormat.NCHW, conv(2, 3),
                new DepthwiseConvolution2D.Builder(3, 2).depthMultiplier(2).stride(2, 2).padding(1, 1)
                        .activation(Activation.RELU).build()));
        cases.add(image("depthwise NHWC same mode, dilation 2, multiplier 1, no bias, after a convolution", 6, 6, 2,
                CNN2DFormat.NHWC, conv(2, 3),
                new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(1).dilation(2, 2)
                        .convolutionMode(ConvolutionMode.Same).hasBias(false).activation(Activation.TANH).build()));
        cases.add(image("depthwise NCHW strict, multiplier 3, stride (1, 2)", 5, 5, 2, CNN2DFormat.NCHW,
                new DepthwiseConvolution2D.Builder(2, 3).depthMultiplier(3).stride(1, 2)
                        .convolutionMode(ConvolutionMode.Strict).activation(Activation.IDENTITY).build()));
        // One input channel is computed as an ordinary convolution (libnd4j's depthwise backprop fails for a
        // single-element kernel: fuzz seed 64). DL4J itself cannot train that layer (same op): its inference score
        // is compared, the gradients by finite differences. (DL4J's own SeparableConvolution2D fails on one input
        // channel, in libnd4j's sconv2d, so there is nothing to compare the separable layer's same path with.)
        for (CNN2DFormat format : CNN2DFormat.values()) {
            cases.add(image("depthwise " + format + " one input channel, 1x1 kernel, multiplier 1, no bias", 4, 5, 1,
                    format, new DepthwiseConvolution2D.Builder(1, 1).depthMultiplier(1).hasBias(false)
                            .activation(Activation.TANH).build()).trainingDiffersFromInference());
            cases.add(image("depthwise " + format + " one input channel, 2x3 kernel, multiplier 2, stride 2", 5, 6, 1,
                    format, new DepthwiseConvolution2D.Builder(2, 3).depthMultiplier(2).stride(2, 2)
                            .activation(Activation.SIGMOID).build()));
        }
        cases.add(image("separable NCHW strict, multiplier 2, after a convolution", 6, 6, 2, CNN2DFormat.NCHW,
                conv(3, 2),
                new SeparableConvolution2D.Builder(2, 2).depthMultiplier(2).convolutionMode(ConvolutionMode.Strict)
                        .nOut(3).activation(Activation.TANH).build()));
        cases.add(image("separable NHWC same mode, stride 2, dilation 2, multiplier 3, no bias, after a convolution",
                7, 6, 2, CNN2DFormat.NHWC, conv(2, 2),
                new SeparableConvolution2D.Builder(3, 3).depthMultiplier(3).stride(2, 2).dilation(2, 2)
                        .convolutionMode(ConvolutionMode.Same).hasBias(false).nOut(2).activation(Activation.SIGMOID)
                        .build()));
        // Found by ConversionFuzzTest: DL4J's softmax on a layer's rank-4 output normalises over its last axis
        // (width for NCHW), not over the channels.
        cases.add(image("softmax convolution NCHW and softmax activation layer (over the last axis, as DL4J)", 5, 4, 2,
                CNN2DFormat.NCHW, new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.SOFTMAX).build(),
                new org.deeplearning4j.nn.conf.layers.ActivationLayer.Builder().activation(Activation.SOFTMAX).build()));
        cases.add(image("softmax depthwise NHWC (over the channels, the last axis)", 5, 5, 2, CNN2DFormat.NHWC,
                conv(2, 2), new DepthwiseConvolution2D.Builder(2, 2).depthMultiplier(2)
                        .activation(Activation.SOFTMAX).build()));
        // Found by ConversionFuzzTest (seed 2765): DL4J's ConvolutionLayer backprop of an NHWC softmax takes it over
        // another axis than its forward pass (bias gradients ~1e-19 where finite differences of its score give 3e-3)
        cases.add(image("softmax convolution NHWC (over the channels; DL4J's gradient is wrong)", 5, 4, 2,
                CNN2DFormat.NHWC, new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.SOFTMAX).build())
                .withInexactDl4jGradient());
        cases.add(image("separable NCHW truncate, stride (2, 1), padding 1", 5, 5, 2, CNN2DFormat.NCHW,
                new SeparableConvolution2D.Builder(3, 2).stride(2, 1).padding(1, 1).nOut(3)
                        .activation(Activation.IDENTITY).build()));
        return cases;
    }

    private static List<Case> oneDimensional() {
        List<Case> cases = new ArrayList<>();
        cases.add(series("softmax conv1d NCW (over time, the last axis, as DL4J)", 3, 5, RNNFormat.NCW,
                new Convolution1DLayer.Builder(2).nOut(3).activation(Activation.SOFTMAX).build()));
        cases.add(series("conv1d NCW truncate, stride 2, padding 1, dilation 2", 3, 8, RNNFormat.NCW,
                new Convolution1DLayer.Builder(3, 2, 1).dilation(2).nOut(4).activation(Activation.TANH).build()));
        cases.add(series("conv1d causal, dilation 2, no bias, after a conv1d", 2, 7, RNNFormat.NCW, conv1d(2, 3),
                new Convolution1DLayer.Builder(2).dilation(2).convolutionMode(ConvolutionMode.Causal).hasBias(false)
                        .nOut(2).activation(Activation.SIGMOID).build()));
        // DL4J cannot train an NWC Convolution1DLayer (its conv1d_bp call fails on the weight gradient view it
        // permutes for NWC): only the inference score is compared, gradients by finite differences.
        cases.add(series("Convolution1D NWC same mode, stride 2, after a conv1d", 2, 7, RNNFormat.NWC, conv1d(2, 3),
                new Convolution1D.Builder(3, 2).convolutionMode(ConvolutionMode.Same).nOut(3)
                        .activation(Activation.TANH).build()).trainingDiffersFromInference());
        cases.add(series("conv1d NWC causal, then strict", 3, 6, RNNFormat.NWC,
                new Convolution1DLayer.Builder(3).convolutionMode(ConvolutionMode.Causal).nOut(2)
                        .activation(Activation.TANH).build(),
                new Convolution1DLayer.Builder(2).convolutionMode(ConvolutionMode.Strict).nOut(3)
                        .activation(Activation.IDENTITY).build()).trainingDiffersFromInference());
        cases.add(series("subsampling 1D max NCW, stride 2, after an LSTM", 2, 8, RNNFormat.NCW, lstm(3),
                new Subsampling1DLayer.Builder(PoolingType.MAX, 2, 2, 0).build()));
        // DL4J cannot train a Subsampling1DLayer on NWC input (its backprop reshapes the epsilon as NCW first and
        // fails): only the inference score is compared, gradients by finite differences.
        cases.add(series("subsampling 1D average NWC, same mode, after an LSTM", 2, 7, RNNFormat.NWC, lstm(3),
                new Subsampling1DLayer.Builder(PoolingType.AVG, 3, 2, 0).convolutionMode(ConvolutionMode.Same).build())
                .trainingDiffersFromInference());
        // First layers: the input's layout comes from the subsampling layer alone (NHWC when DL4J saw NWC input),
        // the sequence length from the user (no input types)
        cases.add(series("subsampling 1D max NWC first, then a conv1d, sequence length given", 3, 6, RNNFormat.NWC,
                new Subsampling1DLayer.Builder(PoolingType.MAX, 2, 1, 0).build(),
                new Convolution1DLayer.Builder(2).nOut(2).activation(Activation.TANH).build())
                .trainingDiffersFromInference().withSequenceLength(6));
        // A padding layer first tells the layout but not the width: the LSTM after it does (fuzz seeds 3690, 4498)
        cases.add(series("zero padding 1D first, then an LSTM and a simple RNN, sequence length given", 3, 5,
                RNNFormat.NCW, new ZeroPadding1DLayer(1, 1), lstm(4),
                new org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn.Builder().nOut(2)
                        .activation(Activation.TANH).build()).withSequenceLength(5));
        cases.add(series("subsampling 1D max NCW first, sequence length given", 3, 6, RNNFormat.NCW,
                new Subsampling1DLayer.Builder(PoolingType.MAX, 2, 1, 0).build()).withSequenceLength(6));
        cases.add(series("subsampling 1D p-norm NCW, causal mode (pooled as Truncate, as DL4J does)", 3, 7,
                RNNFormat.NCW, new Subsampling1DLayer.Builder(PoolingType.PNORM, 2, 1, 0).pnorm(2)
                        .convolutionMode(ConvolutionMode.Causal).build()));
        cases.add(series("zero padding 1D and cropping 1D after an LSTM", 2, 6, RNNFormat.NCW, lstm(3),
                new ZeroPadding1DLayer(1, 2), new Cropping1D(2, 1)));
        cases.add(series("upsampling 1D after an LSTM", 2, 5, RNNFormat.NCW, lstm(3),
                new Upsampling1D.Builder(3).build()));
        return cases;
    }

    private static List<Case> spatial() {
        List<Case> cases = new ArrayList<>();
        for (CNN2DFormat format : CNN2DFormat.values()) {
            cases.add(image("zero padding " + format + " asymmetric, between convolutions", 5, 5, 2, format,
                    conv(2, 3), new ZeroPaddingLayer.Builder(1, 2, 0, 3).build(), conv(3, 2)));
            cases.add(image("cropping " + format + " asymmetric, after a convolution", 6, 6, 2, format,
                    conv(2, 3), new Cropping2D(1, 0, 2, 1)));
            cases.add(image("cropping " + format + " at the start only, after a convolution", 5, 6, 2, format,
                    conv(2, 2), new Cropping2D(1, 0, 2, 0)));
            cases.add(image("upsampling " + format + " size (2, 3), between convolutions", 4, 4, 2, format,
                    conv(2, 2), new Upsampling2D.Builder().size(new int[] {2, 3}).build(), conv(3, 2)));
            cases.add(image("space to depth " + format + " block 2, after a convolution", 5, 5, 2, format,
                    conv(2, 3), new SpaceToDepthLayer.Builder(2, format).build()));
        }
        // A parameterless first layer: the input placeholder's rank and format are read from it.
        cases.add(image("zero padding NHWC as the first layer, then a convolution", 4, 5, 2, CNN2DFormat.NHWC,
                new ZeroPaddingLayer.Builder(0, 1, 2, 1).dataFormat(CNN2DFormat.NHWC).build(), conv(2, 2)));
        return cases;
    }
}
