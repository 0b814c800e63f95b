package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mutablemodules.dl4j.Networks.Case;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Every supported layer type, in small networks: output parity with {@code net.output} (FLOAT and DOUBLE), score and
 * gradient parity with {@code computeGradientAndScore} (DOUBLE; where DL4J's training pass computes the same function
 * as its inference pass), a finite-difference check after a parameter was fed from an upstream expression, and the
 * functional call ({@code forward}/{@code loss}) against the network's own output and score.
 */
class LayerParityTest {

    private static final int N = 5;

    private static OutputLayer.Builder output(LossFunction loss, Activation act, int nOut) {
        return new OutputLayer.Builder(loss).activation(act).nOut(nOut);
    }

    private static Case ff(String name, int nIn, int nOut, LossFunction loss, Activation act, DenseLayer.Builder... hidden) {
        return new Case(name, type -> {
            List<org.deeplearning4j.nn.conf.layers.Layer> layers = new ArrayList<>();
            for (DenseLayer.Builder h : hidden) {
                layers.add(h.build());
            }
            layers.add(output(loss, act, nOut).build());
            return Networks.network(type, InputType.feedForward(nIn), layers.toArray(new org.deeplearning4j.nn.conf.layers.Layer[0]));
        }, type -> Networks.randn(type, 1, N, nIn), type -> labelsFor(loss, type, nOut), true, false);
    }

    private static INDArray labelsFor(LossFunction loss, DataType type, int nOut) {
        switch (loss) {
            case MCXENT:
            case NEGATIVELOGLIKELIHOOD:
                return Networks.oneHot(type, 2, N, nOut);
            case XENT:
                return Networks.probabilities(type, 2, N, nOut);
            default:
                return Networks.randn(type, 2, N, nOut);
        }
    }

    private static DenseLayer.Builder dense(int nOut, Activation act) {
        return new DenseLayer.Builder().nOut(nOut).activation(act);
    }

    static Stream<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(ff("dense tanh, softmax MCXENT", 4, 3, LossFunction.MCXENT, Activation.SOFTMAX, dense(6, Activation.TANH)));
        cases.add(ff("dense relu without bias, MSE", 4, 2, LossFunction.MSE, Activation.IDENTITY,
                dense(6, Activation.RELU).hasBias(false)));
        cases.add(ff("dense sigmoid, sigmoid XENT", 4, 3, LossFunction.XENT, Activation.SIGMOID, dense(5, Activation.SIGMOID)));
        cases.add(ff("leakyrelu, L1", 3, 2, LossFunction.L1, Activation.IDENTITY, dense(5, Activation.LEAKYRELU)));
        cases.add(ff("elu, L2", 3, 2, LossFunction.L2, Activation.TANH, dense(5, Activation.ELU)));
        cases.add(ff("selu and softplus, MAE", 3, 2, LossFunction.MEAN_ABSOLUTE_ERROR, Activation.SOFTPLUS,
                dense(5, Activation.SELU)));
        cases.add(ff("softsign, hardtanh, cube", 3, 2, LossFunction.MSE, Activation.CUBE,
                dense(5, Activation.SOFTSIGN), dense(4, Activation.HARDTANH)));
        cases.add(ff("hardsigmoid, swish, relu6, NLL", 3, 3, LossFunction.NEGATIVELOGLIKELIHOOD, Activation.SOFTMAX,
                dense(5, Activation.HARDSIGMOID), dense(5, Activation.SWISH), dense(4, Activation.RELU6)));
        cases.add(ff("single output, MSE (a size-1 axis ND4J cannot reduce)", 3, 1, LossFunction.MSE, Activation.IDENTITY,
                dense(4, Activation.TANH)));
        cases.add(ff("three dense layers, output without bias", 4, 2, LossFunction.MSE, Activation.IDENTITY,
                dense(6, Activation.TANH), dense(5, Activation.TANH), dense(4, Activation.TANH)));
        cases.add(new Case("activation layer and loss layer", type -> Networks.network(type, InputType.feedForward(4),
                new DenseLayer.Builder().nOut(3).activation(Activation.IDENTITY).build(),
                new ActivationLayer.Builder().activation(Activation.TANH).build(),
                new LossLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).build()),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 3), true, false));
        cases.add(new Case("dropout layer and dropout on a dense layer (inference: identity)",
                type -> Networks.network(type, InputType.feedForward(4),
                        new DenseLayer.Builder().nOut(6).activation(Activation.TANH).dropOut(0.5).build(),
                        new DropoutLayer.Builder(0.7).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), false, false));
        cases.add(new Case("conv truncate stride 2 pad 1, max pool, dense (flat input)",
                type -> Networks.network(type, InputType.convolutionalFlat(8, 8, 1),
                        new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(4).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(1, 1).build(),
                        new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(),
                        output(LossFunction.MCXENT, Activation.SOFTMAX, 3).build()),
                type -> Networks.randn(type, 1, N, 64), type -> Networks.oneHot(type, 2, N, 3), true, false));
        cases.add(new Case("conv same mode dilated, avg pool including padding, no bias",
                type -> Networks.network(type, InputType.convolutional(7, 7, 2),
                        new ConvolutionLayer.Builder(3, 3).convolutionMode(ConvolutionMode.Same).dilation(2, 2)
                                .hasBias(false).nOut(3).activation(Activation.TANH).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(2, 2).padding(1, 1)
                                .avgPoolIncludePadInDivisor(true).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 2, 7, 7), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("conv strict, avg pool excluding padding, same-mode pooling",
                type -> Networks.network(type, InputType.convolutional(6, 6, 1),
                        new ConvolutionLayer.Builder(2, 2).convolutionMode(ConvolutionMode.Strict).stride(2, 2)
                                .nOut(2).activation(Activation.SIGMOID).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(1, 1).padding(1, 1)
                                .avgPoolIncludePadInDivisor(false).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .convolutionMode(ConvolutionMode.Same).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(1, 1)
                                .convolutionMode(ConvolutionMode.Same).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 1, 6, 6), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("p-norm subsampling with padding",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                        new SubsamplingLayer.Builder(PoolingType.PNORM).pnorm(2).kernelSize(2, 2).stride(2, 2)
                                .padding(1, 1).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false));
        for (PoolingType pooling : new PoolingType[] {PoolingType.MAX, PoolingType.AVG, PoolingType.SUM, PoolingType.PNORM}) {
            cases.add(new Case("conv, global " + pooling + " pooling",
                    type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                            new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build(),
                            new GlobalPoolingLayer.Builder(pooling).pnorm(3).build(),
                            output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                    type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false));
        }
        for (boolean logStd : new boolean[] {true, false}) {
            cases.add(new Case("batch norm on dense activations, useLogStd=" + logStd,
                    type -> withRunningStatistics(Networks.network(type, InputType.feedForward(4),
                            new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build(),
                            new BatchNormalization.Builder().useLogStd(logStd).build(),
                            output(LossFunction.MSE, Activation.IDENTITY, 2).build())),
                    type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), false, false));
        }
        cases.add(new Case("batch norm on conv activations, locked gamma and beta",
                type -> withRunningStatistics(Networks.network(type, InputType.convolutional(4, 4, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY).build(),
                        new BatchNormalization.Builder().lockGammaBeta(true).gamma(1.5).beta(-0.3).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build())),
                type -> Networks.randn(type, 1, N, 2, 4, 4), type -> Networks.randn(type, 2, N, 2), false, false));
        cases.add(new Case("embedding",
                type -> Networks.network(type, null,
                        new EmbeddingLayer.Builder().nIn(7).nOut(4).activation(Activation.TANH).build(),
                        output(LossFunction.MCXENT, Activation.SOFTMAX, 3).nIn(4).build()),
                type -> Networks.indices(type, 1, 7, N, 1), type -> Networks.oneHot(type, 2, N, 3), true, true));
        cases.add(new Case("embedding sequence with bias, global average over time",
                type -> Networks.network(type, null,
                        new EmbeddingSequenceLayer.Builder().nIn(6).nOut(4).inputLength(3).hasBias(true)
                                .activation(Activation.IDENTITY).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).nIn(4).build()),
                type -> Networks.indices(type, 1, 6, N, 3), type -> Networks.randn(type, 2, N, 2), true, true));
        // Found by ConversionFuzzTest: DL4J's softmax normalises the [N, nOut, T] output over its last axis (time);
        // a SimpleRnn after cropping unrolls over the cropped length, found by a dry run from the index input.
        cases.add(new Case("embedding sequence with softmax, cropping, simple RNN",
                type -> Networks.network(type, null,
                        new EmbeddingSequenceLayer.Builder().nIn(6).nOut(3).inputLength(4)
                                .activation(Activation.SOFTMAX).build(),
                        new org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D.Builder(1, 0).build(),
                        new SimpleRnn.Builder().nIn(3).nOut(4).activation(Activation.TANH).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).nIn(4).build()),
                type -> Networks.indices(type, 1, 6, N, 4), type -> Networks.randn(type, 2, N, 2), true, true, 4));
        cases.add(new Case("frozen dense layer",
                type -> Networks.network(type, InputType.feedForward(4),
                        new FrozenLayer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build()),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("frozen-with-backprop dense layer between trainable ones",
                type -> Networks.network(type, InputType.feedForward(4),
                        new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(),
                        new FrozenLayerWithBackprop(new DenseLayer.Builder().nIn(5).nOut(5).activation(Activation.TANH).build()),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.addAll(recurrentCases());
        cases.addAll(VertexCases.cases());
        cases.addAll(ConvolutionCases.cases());
        cases.addAll(MoreLayerCases.cases());
        cases.addAll(CustomLayerCases.cases());
        cases.addAll(Dl4jSameDiffLayerCases.cases());
        // -Dparity.only=text runs the cases whose names contain the text, or one of texts separated by '|' (for
        // working on one layer).
        List<String> only = List.of(System.getProperty("parity.only", "").split("\\|"));
        return cases.stream().filter(c -> only.stream().anyMatch(c.name()::contains));
    }

    private static final int T = 4;

    private static LSTM.Builder lstm(int nOut) {
        return new LSTM.Builder().nOut(nOut).activation(Activation.TANH);
    }

    private static RnnOutputLayer.Builder rnnOutput(int nOut) {
        return new RnnOutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(nOut);
    }

    static List<Case> recurrentCases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("LSTM, RNN output layer (softmax MCXENT)",
                type -> Networks.network(type, InputType.recurrent(3), lstm(5).build(), rnnOutput(3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false));
        cases.add(new Case("two LSTMs (softsign, hard sigmoid gates), RNN output MSE",
                type -> Networks.network(type, InputType.recurrent(3),
                        lstm(4).activation(Activation.SOFTSIGN).gateActivationFunction(Activation.HARDSIGMOID).build(),
                        lstm(3).build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false));
        for (Activation a : new Activation[] {Activation.SOFTPLUS, Activation.RELU, Activation.SIGMOID}) {
            cases.add(new Case("LSTM with " + a + " activation, RNN output MSE",
                    type -> Networks.network(type, InputType.recurrent(3), lstm(4).activation(a).build(),
                            new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                                    .build()),
                    type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false));
        }
        cases.add(new Case("LSTM, one output unit, one time step",
                type -> Networks.network(type, InputType.recurrent(3), lstm(2).build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(1).build()),
                type -> Networks.randn(type, 1, N, 3, 1), type -> Networks.randn(type, 2, N, 1, 1), true, false));
        cases.add(new Case("LSTM in NWC format",
                type -> Networks.network(type, InputType.recurrent(3, RNNFormat.NWC), lstm(4).build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                                .dataFormat(RNNFormat.NWC).build()),
                type -> Networks.randn(type, 1, N, T, 3), type -> Networks.randn(type, 2, N, T, 2), true, false));
        cases.add(new Case("LSTM, RNN output layer softmax MCXENT in NWC format",
                type -> Networks.network(type, InputType.recurrent(3, RNNFormat.NWC), lstm(4).build(),
                        rnnOutput(3).dataFormat(RNNFormat.NWC).build()),
                type -> Networks.randn(type, 1, N, T, 3), type -> nwc(Networks.oneHotSeries(type, 2, N, 3, T)),
                true, false));
        cases.add(new Case("LSTM, dense per time step (RNN/FF pre-processors), RNN output",
                type -> Networks.network(type, InputType.recurrent(3), lstm(4).build(),
                        new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(),
                        rnnOutput(3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false));
        cases.add(new Case("last time step of an LSTM, dense output",
                type -> Networks.network(type, InputType.recurrent(3), new LastTimeStep(lstm(4).build()),
                        output(LossFunction.MCXENT, Activation.SOFTMAX, 3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHot(type, 2, N, 3), true, false));
        for (Bidirectional.Mode mode : Bidirectional.Mode.values()) {
            cases.add(new Case("bidirectional LSTM, mode " + mode,
                    type -> Networks.network(type, InputType.recurrent(3), new Bidirectional(mode, lstm(4).build()),
                            rnnOutput(2).build()),
                    type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 2, T), true, false));
        }
        cases.add(new Case("simple RNN (tanh), RNN output (unrolled over 4 steps)",
                type -> Networks.network(type, InputType.recurrent(3),
                        new SimpleRnn.Builder().nOut(4).activation(Activation.TANH).build(), rnnOutput(3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false, T));
        cases.add(new Case("bidirectional simple RNN (relu, ADD) under last time step, NWC",
                type -> Networks.network(type, InputType.recurrent(3, RNNFormat.NWC),
                        new LastTimeStep(new Bidirectional(Bidirectional.Mode.ADD,
                                new SimpleRnn.Builder().nOut(4).activation(Activation.RELU).dataFormat(RNNFormat.NWC).build())),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, T, 3), type -> Networks.randn(type, 2, N, 2), true, false, T));
        // Found by ConversionFuzzTest: SimpleRnn unrolled over the network input's length, not its own input's.
        cases.add(new Case("simple RNN after upsampling and zero padding (which change the number of time steps)",
                type -> Networks.network(type, InputType.recurrent(3), new Upsampling1D.Builder(2).build(),
                        new ZeroPadding1DLayer.Builder(1, 1).build(),
                        new SimpleRnn.Builder().nOut(4).activation(Activation.TANH).build(), rnnOutput(3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, 2 * T + 2),
                true, false, T));
        // Found by ConversionFuzzTest: libnd4j's lstmLayer fails for a single unit.
        cases.add(new Case("LSTM and GravesLSTM with one unit",
                type -> Networks.network(type, InputType.recurrent(3), lstm(1).build(),
                        new org.deeplearning4j.nn.conf.layers.GravesLSTM.Builder().nOut(1).activation(Activation.TANH)
                                .build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false));
        cases.add(new Case("last time step of a bidirectional LSTM (wrapper in a wrapper)",
                type -> Networks.network(type, InputType.recurrent(3),
                        new LastTimeStep(new Bidirectional(Bidirectional.Mode.CONCAT, lstm(3).build())),
                        output(LossFunction.MSE, Activation.IDENTITY, 2).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("MaskZeroLayer around an LSTM (masking value 0), RNN output",
                type -> Networks.network(type, InputType.recurrent(3), maskZero(lstm(4).build(), 0), rnnOutput(3)
                        .build()),
                type -> padded(type, 0, false), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false, T)
                .withInexactDl4jGradient());
        cases.add(new Case("MaskZeroLayer around a simple RNN (masking value -1), RNN output MSE",
                type -> Networks.network(type, InputType.recurrent(3), maskZero(new SimpleRnn.Builder().nOut(4)
                        .activation(Activation.TANH).build(), -1), new RnnOutputLayer.Builder(LossFunction.MSE)
                        .activation(Activation.IDENTITY).nOut(2).build()),
                type -> padded(type, -1, false), type -> Networks.randn(type, 2, N, 2, T), true, false, T));
        cases.add(new Case("MaskZeroLayer around an LSTM, NWC",
                type -> Networks.network(type, InputType.recurrent(3, RNNFormat.NWC),
                        maskZero(lstm(4).dataFormat(RNNFormat.NWC).build(), 0.5),
                        rnnOutput(3).dataFormat(RNNFormat.NWC).build()),
                type -> padded(type, 0.5, true), type -> nwc(Networks.oneHotSeries(type, 2, N, 3, T)), true, false,
                T).withInexactDl4jGradient());
        cases.add(new Case("MaskZeroLayer around a bidirectional LSTM (CONCAT), then an LSTM, average pooling",
                type -> Networks.network(type, InputType.recurrent(3),
                        maskZero(new Bidirectional(Bidirectional.Mode.CONCAT, lstm(3).build()), 0), lstm(3).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(LossFunction.MCXENT, Activation.SOFTMAX, 2).build()),
                type -> padded(type, 0, false), type -> Networks.oneHot(type, 2, N, 2), true, false, T)
                .withInexactDl4jGradient());
        return cases;
    }

    private static MaskZeroLayer maskZero(org.deeplearning4j.nn.conf.layers.Layer underlying, double value) {
        return new MaskZeroLayer.Builder().setUnderlying(underlying).setMaskValue(value).build();
    }

    /**
     * [N, 3, T] series (NWC: [N, T, 3]) with time steps of padding, every feature {@code value}: none in the first
     * example, then the last two steps, the first two, one in the middle, the last; the fifth example also holds
     * {@code value} in one feature of another step, which is not padding.
     */
    private static INDArray padded(DataType type, double value, boolean nwc) {
        INDArray x = Networks.randn(type, 1, N, 3, T);
        int[][] padding = {{}, {T - 2, T - 1}, {0, 1}, {1}, {T - 1}};
        for (int i = 0; i < N; i++) {
            for (int t : padding[i]) {
                x.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.point(t)).assign(value);
            }
        }
        x.putScalar(new int[] {N - 1, 1, 0}, value);
        return nwc ? nwc(x) : x;
    }

    /** [N, C, T] labels as NWC [N, T, C]. */
    private static INDArray nwc(INDArray ncw) {
        return ncw.permute(0, 2, 1).dup('c');
    }

    /** Running statistics other than DL4J's initial 0 and 1, so that using them wrongly shows. */
    private static MultiLayerNetwork withRunningStatistics(MultiLayerNetwork net) {
        DataType type = net.params().dataType();
        net.paramTable().forEach((key, value) -> {
            if (key.endsWith("_mean") || key.endsWith("_beta")) {
                value.assign(Networks.randn(type, key.hashCode(), value.shape()).muli(0.5));
            } else if (key.endsWith("_var")) {
                value.assign(Networks.probabilities(type, key.hashCode(), value.shape()).addi(0.5));
            } else if (key.endsWith("_log10stdev") || key.endsWith("_gamma")) {
                value.assign(Networks.randn(type, key.hashCode(), value.shape()).muli(0.2).addi(key.endsWith("_gamma") ? 1 : 0));
            }
        });
        return net;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void outputEqualsDl4j(Case c) {
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            Model net = c.network().apply(type);
            INDArray[] x = c.inputs().apply(type);
            INDArray[] expected = Networks.dl4jOutputs(c.dl4jReference(net), x);
            INDArray[] actual = c.convert(net).outputs(x);
            assertEquals(expected.length, actual.length, "number of outputs");
            for (int i = 0; i < expected.length; i++) {
                Checks.assertClose(expected[i], actual[i], type == DataType.DOUBLE ? 1e-10 : 1e-5,
                        c.name() + " output " + i + " in " + type);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void scoreAndGradientsEqualDl4j(Case c) {
        Model net = c.network().apply(DataType.DOUBLE);
        INDArray[] x = c.inputs().apply(DataType.DOUBLE);
        INDArray[] y = c.labels().apply(DataType.DOUBLE);
        MutableNetwork m = c.convert(net);
        net = c.dl4jReference(net);
        if (!c.dl4jTrainsLikeItInfers()) {
            // DL4J's training pass applies dropout / batch statistics: only the score at inference can be compared.
            assertEquals(Networks.dl4jInferenceScore(net, x, y), m.score(x, y), 1e-10, c.name());
            return;
        }
        Gradient expected = Networks.dl4jGradient(net, x, y);
        double score = Networks.dl4jScore(net);
        assertEquals(score, m.score(x, y), 1e-10 * Math.max(1, Math.abs(score)), "score");
        Map<String, INDArray> actual = Checks.quietly(() -> m.gradients(x, y));
        if (!c.dl4jGradientIsExact()) {
            // DL4J's backward pass is wrong or approximate there: the gradients are those of DL4J's own score
            assertMatchesCentralDifferencesOfDl4jsScore(c, m, net, x, y, actual);
            return;
        }
        int compared = 0;
        for (Map.Entry<String, INDArray> e : expected.gradientForVariable().entrySet()) {
            if (isFrozen(m, e.getKey())) {
                continue;   // DL4J reports zeros for frozen parameters; the graph's gradient is the true one
            }
            INDArray g = actual.get(e.getKey());
            assertNotNull(g, "no gradient for " + e.getKey());
            // DL4J reports gradients summed over the minibatch (its updater divides them by the minibatch size);
            // the graph's are the gradients of the score itself.
            INDArray dl4j = e.getValue();
            if (dl4j.length() == g.length() && !Arrays.equals(dl4j.shape(), g.shape())) {
                dl4j = dl4j.reshape(g.shape());     // Convolution1D reports [nOut, nIn, k] for its [nOut, nIn, k, 1] W
            }
            Checks.assertRelativelyClose(dl4j.div(x[0].size(0)), g, 1e-4, c.name() + " gradient " + e.getKey());
            compared++;
        }
        assertFalse(compared == 0, "no gradient compared");
    }

    /**
     * Each gradient against central differences of DL4J's inference score (equal to its training score in these
     * cases) in five elements of the parameter, spread over it; not the frozen parameters, and not those whose
     * gradient DL4J stops on purpose.
     */
    private static void assertMatchesCentralDifferencesOfDl4jsScore(Case c, MutableNetwork m, Model net,
                                                                    INDArray[] x, INDArray[] y,
                                                                    Map<String, INDArray> gradients) {
        double eps = 1e-6;
        int compared = 0;
        for (Map.Entry<String, INDArray> e : gradients.entrySet()) {
            INDArray parameter = net.paramTable().get(e.getKey());
            if (parameter == null || isFrozen(m, e.getKey()) || c.stoppedKeys().contains(e.getKey())) {
                continue;       // a reference network (withReference) may lay its parameters out otherwise
            }
            for (long i = 0; i < Math.min(5, parameter.length()); i++) {
                long[] at = org.nd4j.linalg.api.shape.Shape.ind2subC(parameter, (i * 7) % parameter.length());
                double v = parameter.getDouble(at);
                parameter.putScalar(at, v + eps);
                double up = Networks.dl4jInferenceScore(net, x, y);
                parameter.putScalar(at, v - eps);
                double down = Networks.dl4jInferenceScore(net, x, y);
                parameter.putScalar(at, v);
                double expected = (up - down) / (2 * eps);
                INDArray g = e.getValue().reshape(parameter.shape());
                assertEquals(expected, g.getDouble(at), 1e-7 + 1e-5 * Math.abs(expected),
                        c.name() + " gradient " + e.getKey() + Arrays.toString(at) + " against DL4J's score");
                compared++;
            }
        }
        assertFalse(compared == 0, "no gradient compared");
    }

    private static boolean isFrozen(MutableNetwork m, String key) {
        return m.param(key).initial().getVariableType() == org.nd4j.autodiff.samediff.VariableType.CONSTANT;
    }

    /** Every converted layer's ops survive the library's file: SameDiff cannot read some back as it wrote them. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aSavedAndLoadedNetworkComputesAsTheConvertedOne(Case c) throws IOException {
        MutableNetwork m = c.convert(c.network().apply(DataType.DOUBLE));
        INDArray[] x = c.inputs().apply(DataType.DOUBLE);
        INDArray[] y = c.labels().apply(DataType.DOUBLE);
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        m.save(file);
        MutableNetwork loaded = MutableNetwork.load(new ByteArrayInputStream(file.toByteArray()));
        INDArray[] expected = m.outputs(x);
        INDArray[] actual = loaded.outputs(x);
        for (int i = 0; i < expected.length; i++) {
            Checks.assertClose(expected[i], actual[i], 1e-12, c.name() + " output " + i + " after loading");
        }
        if (c.dl4jTrainsLikeItInfers()) {
            assertEquals(m.score(x, y), loaded.score(x, y), 1e-12, c.name() + " score after loading");
            Map<String, INDArray> gradients = Checks.quietly(() -> m.gradients(x, y));
            Map<String, INDArray> reloaded = Checks.quietly(() -> loaded.gradients(x, y));
            assertEquals(gradients.keySet(), reloaded.keySet());
            gradients.forEach((key, g) -> Checks.assertClose(g, reloaded.get(key), 1e-12,
                    c.name() + " gradient " + key + " after loading"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theFunctionalCallEqualsOutputAndScoreWithOwnAndWithGivenParameters(Case c) {
        MutableNetwork m = c.convert(c.network().apply(DataType.DOUBLE));
        SameDiff sd = m.graph().sameDiff();
        INDArray[] x = c.inputs().apply(DataType.DOUBLE);
        INDArray[] y = c.labels().apply(DataType.DOUBLE);
        Map<String, INDArray> feed = new HashMap<>();
        List<SDVariable> inputs = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            feed.put(m.inputNames().get(i), x[i]);
            inputs.add(sd.getVariable(m.inputNames().get(i)));
        }
        List<SDVariable> labels = new ArrayList<>();
        for (int i = 0; i < m.labelNames().size(); i++) {
            String name = m.labelNames().get(i);
            labels.add(name == null ? null : sd.getVariable(name));
            if (name != null) {
                feed.put(name, y[i]);
            }
        }

        // With the network's own parameters: its output and its score.
        List<SDVariable> outputs = m.forward(inputs, Map.of());
        INDArray[] expected = m.outputs(x);
        for (int i = 0; i < expected.length; i++) {
            String name = outputs.get(i).name();
            Checks.assertClose(expected[i], sd.output(feed, name).get(name), 1e-12, c.name() + " output " + i);
        }
        if (m.hasLoss()) {
            String loss = m.loss(inputs, labels, Map.of()).name();
            assertEquals(m.score(x, y), sd.output(feed, loss).get(loss).getDouble(0),
                    1e-12 * Math.max(1, Math.abs(m.score(x, y))), c.name() + " score");
        }

        // With one parameter given as an expression: what the network computes once that parameter is changed so.
        String key = c.upstreamFedKey() != null ? c.upstreamFedKey()
                : m.parameterKeys().stream().filter(k -> !c.stoppedKeys().contains(k)).findFirst().orElseThrow();
        Map<String, SDVariable> given = Map.of(key, m.param(key).value().mul(0.5).add(0.1));
        List<SDVariable> changed = m.forward(inputs, given);
        INDArray[] viaCall = new INDArray[changed.size()];
        for (int i = 0; i < viaCall.length; i++) {
            viaCall[i] = sd.output(feed, changed.get(i).name()).get(changed.get(i).name());
        }
        Double scoreViaCall = m.hasLoss()
                ? sd.output(feed, m.loss(inputs, labels, given).name()).values().iterator().next().getDouble(0) : null;
        m.param(key).muli(0.5).addi(0.1);
        INDArray[] viaChange = m.outputs(x);
        for (int i = 0; i < viaChange.length; i++) {
            Checks.assertClose(viaChange[i], viaCall[i], 1e-12, c.name() + " output " + i + " with " + key + " given");
        }
        if (scoreViaCall != null) {
            assertEquals(m.score(x, y), scoreViaCall, 1e-12 * Math.max(1, Math.abs(scoreViaCall)),
                    c.name() + " score with " + key + " given");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferencesAfterFeedingAParameterFromUpstream(Case c) {
        MutableNetwork m = c.convert(c.network().apply(DataType.DOUBLE));
        SameDiff sd = m.graph().sameDiff();
        String fed = c.upstreamFedKey() != null ? c.upstreamFedKey()
                : m.parameterKeys().stream().filter(k -> !c.stoppedKeys().contains(k)).findFirst().orElseThrow();
        MutableParameter p = m.param(fed);
        SDVariable upstream = sd.var("upstream", Networks.randn(DataType.DOUBLE, 99, p.shape()).muli(0.5));
        p.set(sd.math().tanh(upstream).mul(0.8));

        Map<String, INDArray> feed = new HashMap<>();
        INDArray[] x = c.inputs().apply(DataType.DOUBLE);
        INDArray[] y = c.labels().apply(DataType.DOUBLE);
        for (int i = 0; i < x.length; i++) {
            feed.put(m.inputNames().get(i), x[i]);
        }
        for (int i = 0; i < y.length; i++) {
            if (m.labelNames().get(i) != null) {
                feed.put(m.labelNames().get(i), y[i]);
            }
        }
        // The data become constants: GradCheckUtil would also check gradients with respect to the placeholders,
        // which ND4J 1.0.0-M2.1 does not propagate through scalar ops (and indices have none).
        for (Map.Entry<String, INDArray> e : feed.entrySet()) {
            sd.getVariable(e.getKey()).setArray(e.getValue());
            sd.convertToConstant(sd.getVariable(e.getKey()));
        }
        java.util.Set<String> skip = new java.util.HashSet<>();
        c.stoppedKeys().forEach(k -> skip.add(m.param(k).initial().name()));
        Checks.assertGradientsMatchFiniteDifferences(sd, Map.of(), skip);
    }
}
