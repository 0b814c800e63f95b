package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The functional call ({@code forward}, {@code loss}) and the differentiable gradients ({@code lossGradients}) of
 * {@link MutableNetwork}: one contract run over dense networks with every supported activation and loss. Outputs and
 * scores equal the converted graph's; explicit gradients equal SameDiff's {@code calculateGradients} to 1e-10 in
 * DOUBLE; the gradient of the explicit gradients (a MAML meta-gradient) passes ND4J's finite-difference check.
 */
class FunctionalCallTest {

    private static final DataType D = DataType.DOUBLE;
    private static final int EXAMPLES = 5;

    /**
     * A network, the per-example shape of its input, its labels, and for an embedding the number of indices its input
     * draws from (0 for real-valued input).
     */
    record Case(String name, Supplier<MultiLayerNetwork> network, long[] inputShape, Supplier<INDArray> labels,
                long indices, int steps) {

        Case(String name, Supplier<MultiLayerNetwork> network, long nIn, Supplier<INDArray> labels) {
            this(name, network, new long[] {nIn}, labels, 0, 0);
        }

        Case(String name, Supplier<MultiLayerNetwork> network, long[] inputShape, Supplier<INDArray> labels) {
            this(name, network, inputShape, labels, 0, 0);
        }

        /** A network of recurrent layers, converted for {@code steps} time steps. */
        static Case series(String name, Supplier<MultiLayerNetwork> network, long[] inputShape,
                           Supplier<INDArray> labels, int steps) {
            return new Case(name, network, inputShape, labels, 0, steps);
        }

        /** The converted network (for its sequence length if it has one). */
        MutableNetwork convert() {
            return convert(network.get());
        }

        MutableNetwork convert(MultiLayerNetwork net) {
            return steps > 0 ? MutableNetwork.of(net, steps) : MutableNetwork.of(net);
        }

        /** {@code n} random examples of the input's shape. */
        INDArray input(long seed, long n) {
            return indices > 0 ? Networks.indices(D, seed, indices, shape(n)) : Networks.randn(D, seed, shape(n));
        }

        /** True when the support and query inputs have no useful gradient to check (images, indices). */
        boolean skipsInputGradients() {
            return inputShape.length > 1 || indices > 0;
        }

        /** The input's shape for {@code n} examples (-1: any number). */
        long[] shape(long n) {
            long[] shape = new long[inputShape.length + 1];
            shape[0] = n;
            System.arraycopy(inputShape, 0, shape, 1, inputShape.length);
            return shape;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("relu, identity output, MSE", () -> Networks.network(D, null,
                        dense(3, 6, Activation.RELU), output(6, 2, Activation.IDENTITY, LossFunction.MSE)),
                        3, () -> Networks.randn(D, 7, EXAMPLES, 2)),
                new Case("one output (nOut 1), relu, MSE", () -> Networks.network(D, null,
                        dense(1, 8, Activation.RELU), dense(8, 8, Activation.RELU),
                        output(8, 1, Activation.IDENTITY, LossFunction.MSE)),
                        1, () -> Networks.randn(D, 8, EXAMPLES, 1)),
                new Case("leaky relu, tanh output, L2", () -> Networks.network(D, null,
                        new DenseLayer.Builder().nIn(3).nOut(5).activation(new ActivationLReLU(0.2)).build(),
                        output(5, 3, Activation.TANH, LossFunction.L2)),
                        3, () -> Networks.randn(D, 9, EXAMPLES, 3).muli(0.5)),
                new Case("tanh, sigmoid, softmax output, MCXENT", () -> Networks.network(D, null,
                        dense(4, 6, Activation.TANH), dense(6, 5, Activation.SIGMOID),
                        output(5, 3, Activation.SOFTMAX, LossFunction.MCXENT)),
                        4, () -> Networks.oneHot(D, 10, EXAMPLES, 3)),
                new Case("softmax with soft labels, negative log-likelihood", () -> Networks.network(D, null,
                        dense(3, 4, Activation.RELU),
                        output(4, 3, Activation.SOFTMAX, LossFunction.NEGATIVELOGLIKELIHOOD)),
                        3, () -> Networks.probabilities(D, 11, EXAMPLES, 3)),
                new Case("sigmoid output, MCXENT (unfused)", () -> unvalidatedNetwork(
                        dense(3, 4, Activation.IDENTITY), output(4, 2, Activation.SIGMOID, LossFunction.MCXENT)),
                        3, () -> Networks.probabilities(D, 12, EXAMPLES, 2)),
                new Case("activation and dropout layers, softmax layer, MSE", () -> Networks.network(D, null,
                        dense(3, 4, Activation.IDENTITY), new ActivationLayer.Builder().activation(Activation.TANH)
                                .build(), new DropoutLayer.Builder(0.5).build(),
                        dense(4, 3, Activation.IDENTITY), new ActivationLayer.Builder()
                                .activation(Activation.SOFTMAX).build(),
                        output(3, 2, Activation.SIGMOID, LossFunction.MSE)),
                        3, () -> Networks.probabilities(D, 13, EXAMPLES, 2)),
                new Case("no bias, miniBatch(false), MSE", FunctionalCallTest::unaveragedNetwork,
                        3, () -> Networks.randn(D, 14, EXAMPLES, 2)),
                new Case("conv relu, global average pooling, softmax", () -> Networks.network(D,
                        InputType.convolutional(5, 5, 2),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(0, 2, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {2, 5, 5}, () -> Networks.oneHot(D, 25, EXAMPLES, 2)),
                // ReLU leaves channels of zeros: ties, each of which gets the gradient
                new Case("conv relu, global max pooling, MSE", () -> Networks.network(D,
                        InputType.convolutional(4, 4, 1),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.RELU).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.MAX).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {1, 4, 4}, () -> Networks.randn(D, 26, EXAMPLES, 2)),
                new Case("conv tanh, global sum pooling kept as 1x1, MSE", () -> Networks.network(D,
                        InputType.convolutional(4, 5, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.SUM).collapseDimensions(false).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {2, 4, 5}, () -> Networks.randn(D, 27, EXAMPLES, 2)),
                new Case("dense, batch normalisation, tanh, softmax", () -> Networks.network(D, null,
                        dense(3, 4, Activation.IDENTITY), new BatchNormalization.Builder().nOut(4).build(),
                        new ActivationLayer.Builder().activation(Activation.TANH).build(),
                        output(4, 2, Activation.SOFTMAX, LossFunction.MCXENT)),
                        3, () -> Networks.oneHot(D, 28, EXAMPLES, 2)),
                new Case("conv, batch normalisation (log std, NHWC), relu, max pool, MSE", () -> Networks.network(D,
                        InputType.convolutional(6, 6, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new BatchNormalization.Builder().useLogStd(true).dataFormat(CNN2DFormat.NHWC).build(),
                        new ActivationLayer.Builder().activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {6, 6, 2}, () -> Networks.randn(D, 29, EXAMPLES, 2)),
                new Case("embedding (tanh), softmax", () -> Networks.network(D, null,
                        new EmbeddingLayer.Builder().nIn(6).nOut(4).activation(Activation.TANH).build(),
                        output(4, 3, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {1}, () -> Networks.oneHot(D, 30, EXAMPLES, 3), 6, 0),
                new Case("tanh, sigmoid output, XENT", () -> Networks.network(D, null,
                        dense(3, 4, Activation.TANH), output(4, 2, Activation.SIGMOID, LossFunction.XENT)),
                        3, () -> Networks.probabilities(D, 22, EXAMPLES, 2)),
                new Case("tanh, identity output, L1", () -> Networks.network(D, null,
                        dense(3, 4, Activation.TANH), output(4, 2, Activation.IDENTITY, LossFunction.L1)),
                        3, () -> Networks.randn(D, 23, EXAMPLES, 2)),
                new Case("relu, tanh output, MAE", () -> Networks.network(D, null,
                        dense(3, 5, Activation.RELU), output(5, 3, Activation.TANH, LossFunction.MEAN_ABSOLUTE_ERROR)),
                        3, () -> Networks.randn(D, 24, EXAMPLES, 3).muli(0.5)),
                // ReLU before 2x2 max pooling leaves windows of zeros: ties, which go to the window's first element
                new Case("conv 3x3 relu, max pool 2x2, softmax, MCXENT", () -> Networks.network(D,
                        InputType.convolutional(6, 6, 2),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build(),
                        pool(2, 2, ConvolutionMode.Truncate),
                        output(0, 3, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {2, 6, 6}, () -> Networks.oneHot(D, 16, EXAMPLES, 3)),
                new Case("NHWC: conv stride 2 Same tanh, conv dilation 2 padding 1 sigmoid, MSE", () -> Networks
                        .network(D, InputType.convolutional(7, 7, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(3).activation(Activation.TANH)
                                .convolutionMode(ConvolutionMode.Same).dataFormat(CNN2DFormat.NHWC).build(),
                        new ConvolutionLayer.Builder(2, 2).dilation(2, 2).padding(1, 1).nOut(2)
                                .activation(Activation.SIGMOID).dataFormat(CNN2DFormat.NHWC).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {7, 7, 2}, () -> Networks.randn(D, 17, EXAMPLES, 2)),
                new Case("conv padding 1 leaky relu, max pool 2x2 Same over 5x5 (padded), conv 2x3 stride (1, 2) "
                        + "without bias, softmax", () -> Networks.network(D, InputType.convolutional(5, 5, 1),
                        new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(2)
                                .activation(new ActivationLReLU(0.1)).build(),
                        pool(2, 2, ConvolutionMode.Same),
                        new ConvolutionLayer.Builder(2, 3).stride(1, 2).nOut(2).hasBias(false)
                                .activation(Activation.IDENTITY).build(),
                        output(0, 2, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {1, 5, 5}, () -> Networks.oneHot(D, 18, EXAMPLES, 2)),
                new Case("NHWC max pool 3x3 Truncate dropping rows, conv after it, MSE", () -> Networks.network(D,
                        InputType.convolutional(8, 7, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(3, 3)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new ConvolutionLayer.Builder(1, 2).nOut(2).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        output(0, 1, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {8, 7, 2}, () -> Networks.randn(D, 19, EXAMPLES, 1)),
                new Case("conv, average pool 2x2 tiling, softmax", () -> Networks.network(D,
                        InputType.convolutional(6, 6, 2),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.TANH).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(2, 2).build(),
                        output(0, 3, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {2, 6, 6}, () -> Networks.oneHot(D, 31, EXAMPLES, 3)),
                new Case("NHWC overlapping max pool 3x3 stride 2 padding 1, conv, MSE", () -> Networks.network(D,
                        InputType.convolutional(7, 6, 2, CNN2DFormat.NHWC),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2).padding(1, 1)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.SIGMOID)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {7, 6, 2}, () -> Networks.randn(D, 32, EXAMPLES, 2)),
                // ReLU's zeros tie inside overlapping windows: each window's gradient goes to its first maximum
                new Case("conv relu, max pool 2x2 stride 1 dilation 2, softmax", () -> Networks.network(D,
                        InputType.convolutional(6, 6, 1),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(1, 1).dilation(2, 2)
                                .build(),
                        output(0, 2, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {1, 6, 6}, () -> Networks.oneHot(D, 33, EXAMPLES, 2)),
                new Case("conv, average pool 3x3 stride 2 padding 1 (divisor with padding), MSE", () -> Networks
                        .network(D, InputType.convolutional(5, 6, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(2, 2).padding(1, 1)
                                .build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {2, 5, 6}, () -> Networks.randn(D, 34, EXAMPLES, 2)),
                new Case("NHWC average pool 3x2 stride (1, 2) Same (divisor without padding), conv, MSE", () -> Networks
                        .network(D, InputType.convolutional(5, 5, 2, CNN2DFormat.NHWC),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 2).stride(1, 2)
                                .convolutionMode(ConvolutionMode.Same).avgPoolIncludePadInDivisor(false)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        output(0, 1, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {5, 5, 2}, () -> Networks.randn(D, 35, EXAMPLES, 1)),
                Case.series("SimpleRnn tanh, RnnOutputLayer softmax, MCXENT", () -> Networks.network(D,
                        InputType.recurrent(3, 4),
                        new SimpleRnn.Builder().nIn(3).nOut(5).activation(Activation.TANH).build(),
                        new RnnOutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                                .build()),
                        new long[] {3, 4}, () -> Networks.oneHotSeries(D, 36, EXAMPLES, 3, 4), 4),
                Case.series("NWC: LSTM, SimpleRnn relu, RnnOutputLayer identity, MSE", () -> Networks.network(D,
                        InputType.recurrent(2, 3, RNNFormat.NWC),
                        new LSTM.Builder().nIn(2).nOut(3).dataFormat(RNNFormat.NWC).build(),
                        new SimpleRnn.Builder().nOut(2).activation(Activation.RELU).dataFormat(RNNFormat.NWC).build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY)
                                .dataFormat(RNNFormat.NWC).build()),
                        new long[] {3, 2}, () -> Networks.randn(D, 37, EXAMPLES, 3, 2), 3),
                Case.series("LSTM sigmoid cells, last time step, softmax", () -> Networks.network(D,
                        InputType.recurrent(3, 5),
                        new LastTimeStep(new LSTM.Builder().nIn(3).nOut(4).activation(Activation.SIGMOID)
                                .gateActivationFunction(Activation.SIGMOID).build()),
                        output(4, 2, Activation.SOFTMAX, LossFunction.MCXENT)),
                        new long[] {3, 5}, () -> Networks.oneHot(D, 38, EXAMPLES, 2), 5),
                Case.series("LSTM over one time step, global average pooling, MSE", () -> Networks.network(D,
                        InputType.recurrent(2, 1),
                        new LSTM.Builder().nIn(2).nOut(3).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output(3, 1, Activation.IDENTITY, LossFunction.MSE)),
                        new long[] {2, 1}, () -> Networks.randn(D, 39, EXAMPLES, 1), 1),
                Case.series("last time step of a SimpleRnn, sigmoid output, XENT", () -> Networks.network(D,
                        InputType.recurrent(2, 3),
                        new LastTimeStep(new SimpleRnn.Builder().nIn(2).nOut(3).activation(Activation.TANH).build()),
                        output(3, 2, Activation.SIGMOID, LossFunction.XENT)),
                        new long[] {2, 3}, () -> Networks.probabilities(D, 40, EXAMPLES, 2), 3));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndLossWithoutSubstitutionEqualTheNetwork(Case c) {
        MultiLayerNetwork net = c.network().get();
        MutableNetwork m = c.convert(net);
        SameDiff sd = m.graph().sameDiff();
        INDArray x = c.input(1, EXAMPLES);
        INDArray y = c.labels().get();
        SDVariable out = m.forward(sd.getVariable(m.inputName()), Map.of());
        SDVariable loss = m.loss(sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of());
        Map<String, INDArray> values = sd.output(feed(m, x, y), out.name(), loss.name());
        Checks.assertRelativelyClose(net.output(x), values.get(out.name()), 1e-10, "forward");
        Checks.assertRelativelyClose(m.output(x), values.get(out.name()), 1e-12, "forward vs graph");
        assertEquals(m.score(x, y), values.get(loss.name()).getDouble(0), 1e-10 * Math.abs(m.score(x, y)), "loss");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void substitutedParametersActLikeANetworkWithThoseParameters(Case c) {
        MultiLayerNetwork net = c.network().get();
        MutableNetwork m = c.convert(net);
        SameDiff sd = m.graph().sameDiff();
        MultiLayerNetwork other = net.clone();
        Map<String, SDVariable> substituted = new HashMap<>();
        int i = 0;
        for (String key : m.parameterKeys()) {
            if (i++ % 2 == 0) {                         // every other parameter: the others keep their values
                INDArray value = Networks.randn(D, 100 + i, other.getParam(key).shape());
                other.setParam(key, value);
                substituted.put(key, sd.constant("new_" + key, value));
            }
        }
        INDArray x = c.input(2, EXAMPLES);
        INDArray y = c.labels().get();
        SDVariable out = m.forward(sd.getVariable(m.inputName()), substituted);
        SDVariable loss = m.loss(sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), substituted);
        Map<String, INDArray> values = sd.output(feed(m, x, y), out.name(), loss.name());
        Checks.assertRelativelyClose(other.output(x), values.get(out.name()), 1e-10, "substituted forward");
        double expected = c.convert(other).score(x, y);
        assertEquals(expected, values.get(loss.name()).getDouble(0), 1e-10 * Math.abs(expected), "substituted loss");
        Checks.assertRelativelyClose(net.output(x), m.output(x), 0, "the graph's own output is unchanged");
    }

    /**
     * A score inside a larger expression (a meta-batch's mean, a weight) passes on the gradient that reaches it: ND4J's
     * fused softmax cross-entropy op ignores it, so that the mean of two tasks' scores had twice their gradient.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aScaledScoreHasTheScaledGradient(Case c) {
        MutableNetwork m = c.convert();
        SameDiff sd = m.graph().sameDiff();
        SDVariable in = sd.getVariable(m.inputName());
        SDVariable labels = sd.getVariable(m.labelName());
        Map<String, INDArray> feed = feed(m, c.input(20, EXAMPLES), c.labels().get());
        Map<String, INDArray> expected = m.gradients(feed.get(m.inputName()), feed.get(m.labelName()));
        SDVariable meanOfTwo = m.loss(in, labels, Map.of()).add(m.loss(in, labels, Map.of())).mul(0.25);
        sd.setLossVariables(meanOfTwo.name());
        // the network's gradients stay the score's whatever the graph's loss variables are now
        Map<String, INDArray> again = m.gradients(feed.get(m.inputName()), feed.get(m.labelName()));
        for (String key : m.parameterKeys()) {
            Checks.assertRelativelyClose(expected.get(key), again.get(key), 1e-12, key + " after the loss changed");
        }
        sd.setLossVariables(meanOfTwo.name());
        String[] initial = m.parameterKeys().stream().map(k -> m.param(k).initial().name()).toArray(String[]::new);
        Map<String, INDArray> scaled = sd.calculateGradients(feed, initial);
        int compared = 0;
        for (String key : m.parameterKeys()) {
            INDArray gradient = scaled.get(m.param(key).initial().name());
            if (gradient == null) {
                continue;           // a running statistic of batch normalisation: not trained by gradient
            }
            Checks.assertRelativelyClose(expected.get(key).mul(0.5), gradient, 1e-10, key);
            compared++;
        }
        assertTrue(compared >= 2, "gradients compared: " + compared);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void explicitGradientsEqualSameDiffs(Case c) {
        assertExplicitGradientsEqualSameDiffs(c, c.input(3, EXAMPLES), c.labels().get());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void explicitGradientsOfOneExampleEqualSameDiffs(Case c) {
        // one example makes every dz [1, n]: its bias sum is along a size-1 axis, which ND4J's sessions cannot reduce
        assertExplicitGradientsEqualSameDiffs(c, c.input(15, 1),
                firstExample(c.labels().get()));
    }

    /** The first example of {@code a}, its first axis kept. */
    private static INDArray firstExample(INDArray a) {
        INDArrayIndex[] index = new INDArrayIndex[a.rank()];
        Arrays.fill(index, NDArrayIndex.all());
        index[0] = NDArrayIndex.interval(0, 1);
        return a.get(index).dup();
    }

    /** The explicit gradients at the network's own parameters equal SameDiff's {@code calculateGradients}. */
    private static void assertExplicitGradientsEqualSameDiffs(Case c, INDArray x, INDArray y) {
        MutableNetwork m = c.convert();
        SameDiff sd = m.graph().sameDiff();
        Map<String, SDVariable> explicit = m.lossGradients(sd.getVariable(m.inputName()),
                sd.getVariable(m.labelName()), Map.of());
        assertEquals(m.parameterKeys(), List.copyOf(explicit.keySet()));
        Map<String, INDArray> values = sd.output(feed(m, x, y), names(explicit));
        Map<String, INDArray> expected = m.gradients(x, y);    // SameDiff's calculateGradients of the score
        for (String key : m.parameterKeys()) {
            // every gradient has signal, but the recurrent weights' over a single time step
            assertTrue(expected.get(key).norm2Number().doubleValue() > 0 || (c.steps() == 1 && key.endsWith("RW")),
                    "no signal in " + key);
            Checks.assertRelativelyClose(expected.get(key), values.get(explicit.get(key).name()), 1e-10, key);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void explicitGradientsAtSubstitutedValuesEqualSameDiffs(Case c) {
        MutableNetwork m = c.convert();
        SameDiff sd = m.graph().sameDiff();
        Map<String, SDVariable> substituted = new LinkedHashMap<>();
        for (String key : m.parameterKeys()) {      // new trainable variables, through an op
            SDVariable v = sd.var("theta/" + key, Networks.randn(D, key.hashCode(), m.param(key).shape()));
            substituted.put(key, v.mul(0.9));
        }
        INDArray x = c.input(4, EXAMPLES);
        INDArray y = c.labels().get();
        SDVariable in = sd.getVariable(m.inputName());
        SDVariable labels = sd.getVariable(m.labelName());
        Map<String, SDVariable> explicit = m.lossGradients(in, labels, substituted);
        SDVariable loss = m.loss(in, labels, substituted);
        Map<String, INDArray> values = sd.output(feed(m, x, y), names(explicit));
        sd.setLossVariables(loss.name());
        Map<String, INDArray> automatic = sd.calculateGradients(feed(m, x, y),
                m.parameterKeys().stream().map(k -> "theta/" + k).toArray(String[]::new));
        for (String key : m.parameterKeys()) {
            // d loss / d theta = 0.9 * d loss / d (0.9 theta)
            INDArray expected = automatic.get("theta/" + key).div(0.9);
            Checks.assertRelativelyClose(expected, values.get(explicit.get(key).name()), 1e-10, key);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void metaGradientThroughAnInnerStepPassesFiniteDifferences(Case c) {
        assertMetaGradientPassesFiniteDifferences(c, false);
        if (c.inputShape().length > 1) {
            // a support input of known height and width: the convolutional rules build on constant sizes then
            assertMetaGradientPassesFiniteDifferences(c, true);
        }
    }

    private static void assertMetaGradientPassesFiniteDifferences(Case c, boolean knownShape) {
        MutableNetwork m = c.convert();
        SameDiff sd = m.graph().sameDiff();
        // The network's own input placeholder (sizes unknown) is the support input, or, to give the support input known
        // sizes, the query input.
        SDVariable own = sd.getVariable(m.inputName());
        SDVariable supportX = knownShape ? sd.placeHolder("support/x", D, c.shape(-1)) : own;
        SDVariable queryX = knownShape ? own : sd.placeHolder("query/x", D, c.shape(-1));
        long[] labelShape = c.labels().get().shape().clone();
        labelShape[0] = -1;
        SDVariable queryY = sd.placeHolder("query/y", D, labelShape);
        // SameDiff gives a placeholder no gradient through ops that read only placeholders and constants (the
        // windows im2col cuts from an image, the time steps cut from a series, a pooling of the input), and ND4J's
        // check asks every floating-point placeholder for one. A shift variable (zero) added to each input makes
        // every op on the inputs' paths differentiated, and its gradient, the sum of the input's, is checked with
        // the parameters' (the labels get one too).
        boolean shifted = c.indices() == 0;
        SDVariable support = shifted ? supportX.add(sd.var("check/support_shift", Nd4j.scalar(D, 0.0))) : supportX;
        SDVariable query = shifted ? queryX.add(sd.var("check/query_shift", Nd4j.scalar(D, 0.0))) : queryX;
        SDVariable supportY = shifted ? sd.getVariable(m.labelName()).add(sd.var("check/labels_shift",
                Nd4j.scalar(D, 0.0))) : sd.getVariable(m.labelName());
        SDVariable queryLabels = shifted ? queryY.add(sd.var("check/query_labels_shift", Nd4j.scalar(D, 0.0)))
                : queryY;
        SDVariable metaLoss = maml(m, support, supportY, query, queryLabels, 2, 0.3);
        sd.setLossVariables(metaLoss.name());
        Map<String, INDArray> placeholders = feed(m, c.input(5, EXAMPLES), c.labels().get());
        placeholders.put(queryX.name(), c.input(6, EXAMPLES));
        placeholders.put(supportX.name(), c.input(5, EXAMPLES));
        placeholders.put("query/y", c.labels().get().dup());
        if (!shifted) {
            // Indices reach the loss only through an integer cast: the parameters' meta-gradients are checked by
            // central differences here.
            assertParameterGradientsMatchFiniteDifferences(m, metaLoss, placeholders);
            return;
        }
        // Labels are not checked (meta-learning needs no gradient for them), nor, element by element, the inputs of
        // images and series (many elements; their sums are, through the shifts).
        Set<String> skipped = !c.skipsInputGradients() ? Set.of(m.labelName(), "query/y")
                : Set.of(m.labelName(), "query/y", supportX.name(), queryX.name());
        Checks.assertGradientsMatchFiniteDifferences(sd, placeholders, skipped);
    }

    /** Every parameter's gradient of {@code loss} against central differences of step 1e-6 (DOUBLE). */
    static void assertParameterGradientsMatchFiniteDifferences(MutableNetwork m, SDVariable loss,
                                                               Map<String, INDArray> placeholders) {
        SameDiff sd = m.graph().sameDiff();
        String[] initial = m.parameterKeys().stream().map(k -> m.param(k).initial().name()).toArray(String[]::new);
        Map<String, INDArray> analytic = sd.calculateGradients(placeholders, initial);
        for (String name : initial) {
            INDArray flat = sd.getVariable(name).getArr().reshape(-1);
            INDArray gradient = analytic.get(name).reshape(-1);
            for (int i = 0; i < flat.length(); i++) {
                double original = flat.getDouble(i);
                flat.putScalar(i, original + 1e-6);
                double plus = sd.output(placeholders, loss.name()).get(loss.name()).getDouble(0);
                flat.putScalar(i, original - 1e-6);
                double minus = sd.output(placeholders, loss.name()).get(loss.name()).getDouble(0);
                flat.putScalar(i, original);
                double numeric = (plus - minus) / 2e-6;
                assertEquals(numeric, gradient.getDouble(i), 1e-6 + 1e-5 * Math.abs(numeric), name + "[" + i + "]");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void explicitGradientsOfAnInputOfKnownShapeEqualSameDiffs(Case c) {
        MutableNetwork m = c.convert();
        SameDiff sd = m.graph().sameDiff();
        SDVariable known = sd.placeHolder("known/x", D, c.shape(-1));
        Map<String, SDVariable> explicit = m.lossGradients(known, sd.getVariable(m.labelName()), Map.of());
        INDArray x = c.input(21, EXAMPLES);
        INDArray y = c.labels().get();
        Map<String, INDArray> values = sd.output(Map.of("known/x", x, m.labelName(), y), names(explicit));
        Map<String, INDArray> expected = m.gradients(x, y);
        for (String key : m.parameterKeys()) {
            Checks.assertRelativelyClose(expected.get(key), values.get(explicit.get(key).name()), 1e-10, key);
        }
    }

    static Stream<org.deeplearning4j.nn.conf.layers.Layer> maxPoolings() {
        return Stream.of(new GlobalPoolingLayer.Builder(PoolingType.MAX).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 3).stride(2, 3)
                        .convolutionMode(ConvolutionMode.Same).build(),         // 3x4 padded to 4x6
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(1, 1).build());
    }

    /**
     * Tied maxima where the slope is not zero (a constant background under an identity convolution): max pooling's
     * gradient goes to the first of each window's maxima only, as ND4J's reduce_max and maxpool2d_bp send it: the
     * convolution's bias gradient, compared with SameDiff's, would count every tied position otherwise; global,
     * tiling, padded and overlapping windows.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("maxPoolings")
    void maxPoolingSendsATiedMaximumsGradientToItsFirstPosition(org.deeplearning4j.nn.conf.layers.Layer pooling) {
        MultiLayerNetwork net = Networks.network(D, InputType.convolutional(3, 4, 1),
                new ConvolutionLayer.Builder(1, 1).nOut(2).activation(Activation.IDENTITY).build(), pooling,
                output(0, 2, Activation.IDENTITY, LossFunction.MSE));
        net.getParam("0_W").assign(Nd4j.createFromArray(0.7, 1.3).reshape(2, 1, 1, 1));
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        INDArray x = Nd4j.zeros(D, 3, 1, 3, 4);                    // a background of zeros: every pixel ties...
        x.putScalar(new long[] {1, 0, 2, 1}, -1.5);                 // ...but a few below it
        x.putScalar(new long[] {2, 0, 0, 0}, -0.5);
        INDArray y = Networks.randn(D, 31, 3, 2);
        Map<String, SDVariable> explicit = m.lossGradients(sd.getVariable(m.inputName()),
                sd.getVariable(m.labelName()), Map.of());
        Map<String, INDArray> values = sd.output(feed(m, x, y), names(explicit));
        Map<String, INDArray> expected = m.gradients(x, y);
        for (String key : m.parameterKeys()) {
            Checks.assertRelativelyClose(expected.get(key), values.get(explicit.get(key).name()), 1e-10, key);
        }
        // one position per channel and example carries the gradient: the bias's equals the pooled output's
        assertTrue(expected.get("0_b").norm2Number().doubleValue() > 0);
    }

    @Test
    void aComputationGraphChainGivesTheSameGradients() {
        ComputationGraph graph = Networks.graph(D, b -> b.addInputs("in")
                .addLayer("hidden", dense(3, 4, Activation.TANH), "in")
                .addLayer("out", output(4, 2, Activation.SOFTMAX, LossFunction.MCXENT), "hidden")
                .setOutputs("out"));
        MutableNetwork m = MutableNetwork.of(graph);
        SameDiff sd = m.graph().sameDiff();
        Map<String, SDVariable> explicit = m.lossGradients(sd.getVariable("in"), sd.getVariable(m.labelName()),
                Map.of());
        assertEquals(List.of("hidden_W", "hidden_b", "out_W", "out_b"), List.copyOf(explicit.keySet()));
        INDArray x = Networks.randn(D, 7, EXAMPLES, 3);
        INDArray y = Networks.oneHot(D, 8, EXAMPLES, 2);
        Map<String, INDArray> values = sd.output(Map.of("in", x, m.labelName(), y), names(explicit));
        Map<String, INDArray> expected = m.gradients(x, y);
        explicit.forEach((key, g) -> Checks.assertRelativelyClose(expected.get(key), values.get(g.name()), 1e-10, key));
    }

    @Test
    void unknownKeysAreRefusedNamingTheKeyAndTheKnownOnes() {
        MutableNetwork m = MutableNetwork.of(cases().findFirst().orElseThrow().network().get());
        SameDiff sd = m.graph().sameDiff();
        SDVariable w = m.param("0_W").value();      // reading the value gives the parameter its slot: before counting
        int before = size(sd);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(
                sd.getVariable(m.inputName()), Map.of("0_W", w, "7_W", w)));
        assertTrue(e.getMessage().contains("\"7_W\"") && e.getMessage().contains("[0_W, 0_b, 1_W, 1_b]"),
                e.getMessage());
        assertEquals(before, size(sd), "the graph is unchanged");
    }

    @Test
    void wrongShapesTypesAndGraphsAreRefusedAndLeaveTheGraphUnchanged() {
        MutableNetwork m = MutableNetwork.of(cases().findFirst().orElseThrow().network().get());
        SameDiff sd = m.graph().sameDiff();
        SDVariable in = sd.getVariable(m.inputName());
        SDVariable labels = sd.getVariable(m.labelName());
        SDVariable wrongShape = sd.constant("wrong", Nd4j.zeros(D, 6, 3));
        SDVariable wrongType = sd.constant("float", Nd4j.zeros(DataType.FLOAT, 3, 6));
        SameDiff otherGraph = SameDiff.create();
        SDVariable foreign = otherGraph.constant("foreign", Nd4j.zeros(D, 3, 6));
        SDVariable wideInput = sd.placeHolder("wide", D, -1, 4);
        int before = size(sd);

        String shape = assertThrows(IllegalArgumentException.class,
                () -> m.lossGradients(in, labels, Map.of("0_W", wrongShape))).getMessage();
        assertTrue(shape.contains("\"0_W\"") && shape.contains("[6, 3]") && shape.contains("[3, 6]"), shape);
        String type = assertThrows(IllegalArgumentException.class,
                () -> m.loss(in, labels, Map.of("0_W", wrongType))).getMessage();
        assertTrue(type.contains("FLOAT") && type.contains("DOUBLE"), type);
        String graph = assertThrows(IllegalArgumentException.class,
                () -> m.forward(in, Map.of("0_W", foreign))).getMessage();
        assertTrue(graph.contains("another SameDiff graph"), graph);
        String input = assertThrows(IllegalArgumentException.class,
                () -> m.forward(wideInput, Map.of())).getMessage();
        assertTrue(input.contains("\"wide\"") && input.contains("[any, 3]"), input);
        assertThrows(IllegalArgumentException.class, () -> m.loss(in, in, Map.of()));
        assertThrows(NullPointerException.class, () -> m.forward(in, null));
        assertEquals(before, size(sd), "the graph is unchanged");
    }

    @Test
    void lossGradientsRefuseLayersWithoutExplicitBackwardRulesNamingTheLayer() {
        MultiLayerNetwork conv = Networks.network(D, InputType.convolutional(6, 6, 1),
                new ConvolutionLayer.Builder(3, 3).nOut(2).activation(Activation.RELU).build(),
                new SubsamplingLayer.Builder(PoolingType.PNORM).kernelSize(2, 2).stride(2, 2).pnorm(2).build(),
                output(0, 2, Activation.SOFTMAX, LossFunction.MCXENT));
        MutableNetwork m = MutableNetwork.of(conv);
        SameDiff sd = m.graph().sameDiff();
        int before = size(sd);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> m.lossGradients(sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of()));
        assertTrue(e.getMessage().contains("Layer 1 (SubsamplingLayer)") && e.getMessage().contains("PNORM"),
                e.getMessage());
        assertEquals(before, size(sd));
        // forward and loss run the converters, so they work for it (LayerParityTest checks every layer so).
        INDArray x = Networks.randn(D, 3, 4, 1, 6, 6);
        SDVariable out = m.forward(sd.getVariable(m.inputName()), Map.of());
        assertEquals(m.output(x), sd.output(Map.of(m.inputName(), x), out.name()).get(out.name()));

        MutableNetwork elu = MutableNetwork.of(Networks.network(D, null, dense(2, 3, Activation.ELU),
                output(3, 1, Activation.IDENTITY, LossFunction.MSE)));
        String message = assertThrows(UnsupportedLayerException.class, () -> elu.lossGradients(
                elu.graph().sameDiff().getVariable(elu.inputName()),
                elu.graph().sameDiff().getVariable(elu.labelName()), Map.of())).getMessage();
        assertTrue(message.contains("Layer 0 (DenseLayer)") && message.toLowerCase().contains("elu"), message);

        MutableNetwork normed = MutableNetwork.of(Networks.network(D, InputType.convolutional(4, 4, 1),
                new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build(),
                new LocalResponseNormalization.Builder().build(), output(0, 1, Activation.IDENTITY, LossFunction.MSE)));
        SameDiff normedGraph = normed.graph().sameDiff();
        message = assertThrows(UnsupportedLayerException.class, () -> normed.lossGradients(
                normedGraph.getVariable(normed.inputName()), normedGraph.getVariable(normed.labelName()), Map.of()))
                .getMessage();
        assertTrue(message.contains("Layer 1 (LocalResponseNormalization)"), message);
        INDArray in = Networks.randn(D, 5, 4, 1, 4, 4);
        INDArray labels = Networks.randn(D, 6, 4, 1);
        SDVariable score = normed.loss(normedGraph.getVariable(normed.inputName()),
                normedGraph.getVariable(normed.labelName()), Map.of());
        assertEquals(normed.score(in, labels), normedGraph.output(Map.of(normed.inputName(), in,
                normed.labelName(), labels), score.name()).get(score.name()).getDouble(0), 1e-14);
    }

    /**
     * An LSTM converted without a sequence length (libnd4j's lstmLayer takes any length) is unrolled by lossGradients
     * for the length of the input it is given; with an input of unknown length it is refused, naming the layer and
     * the two ways out, and the graph is left as it was.
     */
    @Test
    void recurrentRulesTakeTheNumberOfTimeStepsFromTheInput() {
        MutableNetwork m = MutableNetwork.of(Networks.network(D, InputType.recurrent(3),
                new LSTM.Builder().nIn(3).nOut(4).build(),
                new RnnOutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build()));
        SameDiff sd = m.graph().sameDiff();
        int before = size(sd);
        String message = assertThrows(UnsupportedLayerException.class, () -> m.lossGradients(
                sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of())).getMessage();
        assertTrue(message.contains("Layer 0 (LSTM)") && message.contains("MutableNetwork.of(net, sequenceLength)")
                && message.contains("[N, 3, T]"), message);
        assertEquals(before, size(sd), "the graph is unchanged");
        for (int steps : new int[] {2, 6}) {
            SDVariable x = sd.placeHolder("x" + steps, D, -1, 3, steps);
            Map<String, SDVariable> explicit = m.lossGradients(x, sd.getVariable(m.labelName()), Map.of());
            INDArray in = Networks.randn(D, steps, EXAMPLES, 3, steps);
            INDArray labels = Networks.randn(D, steps + 1, EXAMPLES, 2, steps);
            Map<String, INDArray> values = sd.output(Map.of(x.name(), in, m.labelName(), labels), names(explicit));
            Map<String, INDArray> expected = m.gradients(in, labels);
            for (String key : m.parameterKeys()) {
                Checks.assertRelativelyClose(expected.get(key), values.get(explicit.get(key).name()), 1e-10,
                        steps + " steps, " + key);
            }
        }
    }

    /**
     * An input of unknown length is unrolled for the sequence length the network was converted for; a series of
     * another length then fails when computed instead of mixing time steps with examples.
     */
    @Test
    void aSeriesOfAnotherLengthThanTheUnrolledOneFails() {
        MutableNetwork m = MutableNetwork.of(Networks.network(D, InputType.recurrent(3),
                new LSTM.Builder().nIn(3).nOut(4).build(),
                new RnnOutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build()), 3);
        SameDiff sd = m.graph().sameDiff();
        SDVariable free = sd.placeHolder("free", D, -1, 3, -1);
        Map<String, SDVariable> explicit = m.lossGradients(free, sd.getVariable(m.labelName()), Map.of());
        INDArray labels = Networks.randn(D, 2, 4, 2, 3);
        Map<String, INDArray> three = sd.output(Map.of("free", Networks.randn(D, 1, 4, 3, 3), m.labelName(),
                labels), names(explicit));
        assertEquals(List.copyOf(explicit.keySet()).size(), three.size());
        assertThrows(RuntimeException.class, () -> sd.output(Map.of("free", Networks.randn(D, 1, 2, 3, 6),
                m.labelName(), Networks.randn(D, 2, 2, 2, 6)), names(explicit)));
    }

    /**
     * Functional calls convolve small layers as windows times weights, and leave to conv2d what that form does not
     * cover: a kernel above the size limit, a Same-mode stride beyond the window plus one.
     */
    @Test
    void functionalCallsConvolveEveryConvolutionTheNetworkDoes() {
        List<long[]> shapes = List.of(new long[] {3, 1, 7, 7}, new long[] {3, 48, 4, 4}, new long[] {3, 2, 5, 5});
        List<MultiLayerNetwork> nets = List.of(
                Networks.network(D, InputType.convolutional(7, 7, 1),
                        new ConvolutionLayer.Builder(1, 1).stride(3, 3).nOut(2).convolutionMode(ConvolutionMode.Same)
                                .activation(Activation.TANH).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                Networks.network(D, InputType.convolutional(4, 4, 48),
                        new ConvolutionLayer.Builder(3, 3).nOut(48).activation(Activation.TANH).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)),
                Networks.network(D, InputType.convolutional(5, 5, 2),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.TANH).build(),
                        output(0, 2, Activation.IDENTITY, LossFunction.MSE)));
        for (int i = 0; i < nets.size(); i++) {
            MultiLayerNetwork net = nets.get(i);
            MutableNetwork m = MutableNetwork.of(net);
            SameDiff sd = m.graph().sameDiff();
            INDArray x = Networks.randn(D, 4, shapes.get(i));
            SDVariable out = m.forward(sd.getVariable(m.inputName()), Map.of());
            Checks.assertRelativelyClose(net.output(x), sd.output(Map.of(m.inputName(), x), out.name())
                    .get(out.name()), 1e-10, "functional forward");
        }
    }

    @Test
    void recurrentLayersWithoutRulesAreRefusedByName() {
        @SuppressWarnings("deprecation")
        MutableNetwork graves = MutableNetwork.of(Networks.network(D, InputType.recurrent(2, 3),
                new org.deeplearning4j.nn.conf.layers.GravesLSTM.Builder().nIn(2).nOut(3).build(),
                new RnnOutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build()), 3);
        String message = assertThrows(UnsupportedLayerException.class, () -> graves.lossGradients(
                graves.graph().sameDiff().getVariable(graves.inputName()),
                graves.graph().sameDiff().getVariable(graves.labelName()), Map.of())).getMessage();
        assertTrue(message.contains("Layer 0 (GravesLSTM)"), message);
        // time steps turned into examples before a dense output layer
        MutableNetwork flattened = MutableNetwork.of(Networks.network(D, InputType.recurrent(2, 3),
                new SimpleRnn.Builder().nIn(2).nOut(3).build(),
                output(3, 1, Activation.IDENTITY, LossFunction.MSE)), 3);
        message = assertThrows(UnsupportedLayerException.class, () -> flattened.lossGradients(
                flattened.graph().sameDiff().getVariable(flattened.inputName()),
                flattened.graph().sameDiff().getVariable(flattened.labelName()), Map.of())).getMessage();
        assertTrue(message.contains("Layer 1 (OutputLayer)") && message.contains("RnnToFeedForwardPreProcessor"),
                message);
    }

    @Test
    void aNetworkWithoutOutputLayerHasForwardButNoLoss() {
        MutableNetwork m = MutableNetwork.of(Networks.network(D, null, dense(2, 3, Activation.TANH)));
        SameDiff sd = m.graph().sameDiff();
        SDVariable in = sd.getVariable(m.inputName());
        INDArray x = Networks.randn(D, 9, 4, 2);
        SDVariable out = m.forward(in, Map.of());
        Checks.assertRelativelyClose(m.output(x), out.eval(Map.of(m.inputName(), x)), 1e-12, "forward");
        SDVariable labels = sd.placeHolder("labels", D, -1, 3);
        assertThrows(IllegalStateException.class, () -> m.loss(in, labels, Map.of()));
        assertThrows(IllegalStateException.class, () -> m.lossGradients(in, labels, Map.of()));
    }

    /**
     * A MAML meta-loss: {@code steps} inner gradient steps on the support set, then the loss of the adapted network
     * on the query set.
     */
    static SDVariable maml(MutableNetwork m, SDVariable supportX, SDVariable supportY, SDVariable queryX,
                           SDVariable queryY, int steps, double innerRate) {
        Map<String, SDVariable> adapted = new LinkedHashMap<>();
        for (String key : m.parameterKeys()) {
            adapted.put(key, m.param(key).value());
        }
        for (int s = 0; s < steps; s++) {
            Map<String, SDVariable> g = m.lossGradients(supportX, supportY, adapted);
            Map<String, SDVariable> next = new LinkedHashMap<>();
            adapted.forEach((key, value) -> next.put(key, value.sub(g.get(key).mul(innerRate))));
            adapted = next;
        }
        return m.loss(queryX, queryY, adapted);
    }

    /** The network's input and labels placeholders fed with {@code x} and {@code y}. */
    static Map<String, INDArray> feed(MutableNetwork m, INDArray x, INDArray y) {
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(m.inputName(), x);
        feed.put(m.labelName(), y);
        return feed;
    }

    /** The names of {@code variables}' expressions, in order. */
    static String[] names(Map<String, SDVariable> variables) {
        return variables.values().stream().map(SDVariable::name).toArray(String[]::new);
    }

    private static int size(SameDiff sd) {
        return sd.getVariables().size() * 100_000 + sd.getOps().size();
    }

    private static SubsamplingLayer pool(int kernel, int stride, ConvolutionMode mode) {
        return new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(kernel, kernel).stride(stride, stride)
                .convolutionMode(mode).build();
    }

    private static DenseLayer dense(int nIn, int nOut, Activation activation) {
        return new DenseLayer.Builder().nIn(nIn).nOut(nOut).activation(activation).build();
    }

    private static OutputLayer output(int nIn, int nOut, Activation activation, LossFunction loss) {
        OutputLayer.Builder b = new OutputLayer.Builder(loss).nOut(nOut).activation(activation);
        if (nIn > 0) {
            b.nIn(nIn);
        }
        return b.build();
    }

    /** DL4J refuses sigmoid with MCXENT unless its output-layer validation is off. */
    private static MultiLayerNetwork unvalidatedNetwork(DenseLayer hidden, OutputLayer out) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(12345).dataType(D).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).list()
                .layer(hidden).layer(out).validateOutputLayerConfig(false).build());
        net.init();
        return net;
    }

    private static MultiLayerNetwork unaveragedNetwork() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(12345).dataType(D).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).miniBatch(false)
                .convolutionMode(ConvolutionMode.Truncate).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.SIGMOID).hasBias(false).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        return net;
    }
}
