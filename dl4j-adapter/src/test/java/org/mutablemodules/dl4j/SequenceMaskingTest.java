package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mutablemodules.dl4j.Checks.assertRelativelyClose;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Masks of variable-length time series: outputs, scores, gradients and training steps of the converted network
 * against DL4J's own on the same masked batches (trailing padding and DL4J's align-end padding, a shorter batch after
 * a longer one), the masked copy's gradients against finite differences, and the refusals.
 */
@ExtendWith(DoubleDefaults.class)
class SequenceMaskingTest {

    private static final int IN = 3;
    private static final int OUT = 2;
    private static final int T = 5;
    private static final int N = 4;

    /** A network case: DL4J's network, its conversion, and whether its output and labels are time series. */
    private record Case(String name, Supplier<Object> network, boolean seriesOutput,
                        boolean dl4jGradientWrongAfterLeadingPadding) {
        Case(String name, Supplier<Object> network, boolean seriesOutput) {
            this(name, network, seriesOutput, false);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static NeuralNetConfiguration.ListBuilder list(long seed) {
        return new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER)
                .updater(new Adam(0.05)).list();
    }

    private static MultiLayerNetwork init(MultiLayerConfiguration conf) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Running statistics other than DL4J's initial 0 and 1 (and gamma, beta), so that using them wrongly shows. */
    private static MultiLayerNetwork withRunningStatistics(MultiLayerNetwork net) {
        net.paramTable().forEach((key, value) -> {
            INDArray spread = Nd4j.linspace(DataType.DOUBLE, -1, 2.0 / Math.max(1, value.length() - 1), value.length())
                    .reshape(value.shape());
            if (key.endsWith("_mean") || key.endsWith("_beta")) {
                value.assign(spread.mul(0.3));
            } else if (key.endsWith("_log10stdev") || key.endsWith("_gamma")) {
                value.assign(spread.mul(0.2).add(key.endsWith("_gamma") ? 1 : 0));
            }
        });
        return net;
    }

    /**
     * An LSTM, PReLU on its rows (a per-feature alpha other than DL4J's initial 0), then batch normalisation if asked,
     * an RnnOutputLayer.
     */
    private static MultiLayerNetwork prelu(boolean batchNormalization) {
        NeuralNetConfiguration.ListBuilder list = list(23)
                .layer(new LSTM.Builder().nIn(IN).nOut(4).activation(Activation.TANH).build())
                .layer(new PReLULayer.Builder().inputShape(4).build())
                .inputPreProcessor(1, new RnnToFeedForwardPreProcessor());
        if (batchNormalization) {
            list.layer(new BatchNormalization.Builder().nIn(4).nOut(4).build());
        }
        int last = batchNormalization ? 3 : 2;
        MultiLayerNetwork net = init(list.layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(OUT)
                        .activation(Activation.IDENTITY).build())
                .inputPreProcessor(last, new FeedForwardToRnnPreProcessor()).build());
        net.getLayer(1).getParam("W").assign(Nd4j.createFromArray(0.1, -0.2, 0.3, 0.5).reshape(1, 4));
        return withRunningStatistics(net);
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("LSTM, softmax RnnOutputLayer", () -> init(list(1)
                        .layer(new LSTM.Builder().nIn(IN).nOut(4).activation(Activation.TANH).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .activation(Activation.SOFTMAX).build()).build()), true),
                new Case("SimpleRnn, MSE RnnOutputLayer", () -> init(list(2)
                        .layer(new SimpleRnn.Builder().nIn(IN).nOut(4).activation(Activation.TANH).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(OUT)
                                .activation(Activation.IDENTITY).build()).build()), true),
                new Case("LSTM, sigmoid RnnLossLayer", () -> init(list(13)
                        .layer(new LSTM.Builder().nIn(IN).nOut(OUT).activation(Activation.TANH).build())
                        .layer(new RnnLossLayer.Builder(LossFunction.XENT).activation(Activation.SIGMOID).build())
                        .build()), true),
                new Case("NWC LSTM, NWC RnnOutputLayer", () -> init(list(3)
                        .layer(new LSTM.Builder().nIn(IN).nOut(4).dataFormat(RNNFormat.NWC).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .dataFormat(RNNFormat.NWC).activation(Activation.SOFTMAX).build()).build()), true),
                new Case("Bidirectional LSTM, dense rows between", () -> init(list(4)
                        .layer(new Bidirectional(Bidirectional.Mode.CONCAT,
                                new LSTM.Builder().nIn(IN).nOut(3).build()))
                        .layer(new DenseLayer.Builder().nOut(5).activation(Activation.SIGMOID).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nOut(OUT)
                                .activation(Activation.SOFTMAX).build())
                        .setInputType(InputType.recurrent(IN)).build()), true),
                new Case("SimpleRnn in LastTimeStep, OutputLayer", () -> init(list(5)
                        .layer(new LastTimeStep(new SimpleRnn.Builder().nIn(IN).nOut(4).build()))
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .activation(Activation.SOFTMAX).build()).build()), false),
                new Case("LSTM in LastTimeStep, OutputLayer", () -> init(list(5)
                        .layer(new LastTimeStep(new LSTM.Builder().nIn(IN).nOut(4).build()))
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .activation(Activation.SOFTMAX).build()).build()), false, true),
                new Case("MaskZeroLayer around an LSTM, softmax RnnOutputLayer", () -> init(list(17)
                        .layer(new MaskZeroLayer.Builder().setUnderlying(new LSTM.Builder().nIn(IN).nOut(4).build())
                                .setMaskValue(0).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .activation(Activation.SOFTMAX).build())
                        // without it, DL4J leaves the RnnOutputLayer's format unset after a wrapper, and cannot train
                        .setInputType(InputType.recurrent(IN)).build()), true, true),
                new Case("LSTM, PReLU on its rows (the mask passed on)", () -> prelu(false), true),
                merged(RNNFormat.NCW, 18), merged(RNNFormat.NWC, 19),
                new Case("ComputationGraph: stacked, an LSTM, unstacked and added", () -> {
                    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(21)
                            .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).updater(new Adam(0.05))
                            .graphBuilder().addInputs("in")
                            .addLayer("a", new LSTM.Builder().nIn(IN).nOut(3).build(), "in")
                            .addLayer("b", new LSTM.Builder().nIn(IN).nOut(3).activation(Activation.SOFTSIGN)
                                    .build(), "in")
                            .addVertex("stack", new StackVertex(), "a", "b")
                            .addLayer("shared", new LSTM.Builder().nIn(3).nOut(3).build(), "stack")
                            .addVertex("first", new UnstackVertex(0, 2), "shared")
                            .addVertex("second", new UnstackVertex(1, 2), "shared")
                            .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "first", "second")
                            .addLayer("out", new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(OUT)
                                    .activation(Activation.SOFTMAX).build(), "sum")
                            .setOutputs("out").setInputTypes(InputType.recurrent(IN)).build();
                    ComputationGraph net = new ComputationGraph(conf);
                    net.init();
                    return net;
                }, true),
                pooling(PoolingType.AVG, 6), pooling(PoolingType.MAX, 7), pooling(PoolingType.SUM, 8),
                pooling(PoolingType.PNORM, 9),
                new Case("ComputationGraph: LSTM, LastTimeStepVertex", () -> {
                    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(10)
                            .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).updater(new Adam(0.05))
                            .graphBuilder().addInputs("in")
                            .addLayer("lstm", new LSTM.Builder().nIn(IN).nOut(4).build(), "in")
                            .addVertex("last", new LastTimeStepVertex("in"), "lstm")
                            .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                    .activation(Activation.SOFTMAX).build(), "last")
                            .setOutputs("out").build();
                    ComputationGraph net = new ComputationGraph(conf);
                    net.init();
                    return net;
                }, false));
    }

    /** Two LSTMs merged along the features (DL4J sets the merge axis from the input type: 1 for NCW, 2 for NWC). */
    private static Case merged(RNNFormat format, long seed) {
        return new Case((format == RNNFormat.NWC ? "NWC " : "") + "ComputationGraph: two LSTMs merged", () -> {
            ComputationGraph net = new ComputationGraph(mergedGraph(format, seed, true));
            net.init();
            return net;
        }, true);
    }

    private static ComputationGraphConfiguration mergedGraph(RNNFormat format, long seed, boolean inputTypes) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).updater(new Adam(0.05))
                .graphBuilder().addInputs("in")
                .addLayer("a", new LSTM.Builder().nIn(IN).nOut(3).dataFormat(format).build(), "in")
                .addLayer("b", new LSTM.Builder().nIn(IN).nOut(2).activation(Activation.SOFTSIGN)
                        .dataFormat(format).build(), "in")
                .addVertex("merge", new MergeVertex(), "a", "b")
                .addLayer("out", new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(OUT)
                        .dataFormat(format).activation(Activation.SOFTMAX).build(), "merge")
                .setOutputs("out");
        if (inputTypes) {
            b.setInputTypes(InputType.recurrent(IN, format));
        }
        return b.build();
    }

    private static Case pooling(PoolingType type, long seed) {
        return new Case("LSTM, " + type + " global pooling", () -> init(list(seed)
                .layer(new LSTM.Builder().nIn(IN).nOut(4).build())
                .layer(new GlobalPoolingLayer.Builder(type).pnorm(2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                        .activation(Activation.SOFTMAX).build()).build()), false);
    }

    /** The padding of a batch: each example's steps present, at the start (trailing padding) or at the end. */
    static Stream<Arguments> casesAndPadding() {
        return cases().flatMap(c -> Stream.of(Arguments.of(c, false), Arguments.of(c, true)));
    }

    /** Converted for series of any length; a SimpleRnn, unrolled, for {@code T} steps. */
    private static MutableNetwork convert(Case c, Object net) {
        if (fixedLength(c)) {
            return MutableNetwork.of((MultiLayerNetwork) net, T);
        }
        return net instanceof MultiLayerNetwork ? MutableNetwork.of((MultiLayerNetwork) net)
                : MutableNetwork.of((ComputationGraph) net);
    }

    private static boolean fixedLength(Case c) {
        return c.name().startsWith("SimpleRnn") || c.name().startsWith("MaskZero");  // unrolled: for T steps
    }

    /** A mask with each example's number of steps present: all, all but two, one, three; at the end if asked. */
    private static INDArray mask(int steps, boolean alignEnd) {
        int[] lengths = {steps, steps - 2, 1, Math.min(3, steps)};
        INDArray m = Nd4j.zeros(DataType.DOUBLE, N, steps);
        for (int i = 0; i < N; i++) {
            for (int t = 0; t < lengths[i]; t++) {
                m.putScalar(i, alignEnd ? steps - 1 - t : t, 1.0);
            }
        }
        return m;
    }

    private static boolean nwc(Case c) {
        return c.name().startsWith("NWC");
    }

    private static DataSet batch(Case c, int steps, boolean alignEnd, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = nwc(c) ? Nd4j.rand(DataType.DOUBLE, N, steps, IN) : Nd4j.rand(DataType.DOUBLE, N, IN, steps);
        INDArray m = mask(steps, alignEnd);
        if (c.name().startsWith("MaskZero")) {
            x.muli(m.reshape(N, 1, steps));        // its padding of zeros, which the layer masks itself
        }
        if (!c.seriesOutput()) {
            INDArray y = Nd4j.zeros(DataType.DOUBLE, N, OUT);
            for (int i = 0; i < N; i++) {
                y.putScalar(i, i % OUT, 1.0);
            }
            return new DataSet(x, y, m, null);
        }
        INDArray y = Nd4j.zeros(DataType.DOUBLE, N, OUT, steps);
        for (int i = 0; i < N; i++) {
            for (int t = 0; t < steps; t++) {
                y.putScalar(new int[] {i, (i + t) % OUT, t}, 1.0);
            }
        }
        if (nwc(c)) {
            y = y.permute(0, 2, 1).dup();
        }
        return new DataSet(x, y, m, m.dup());
    }

    private static INDArray dl4jOutput(Object net, DataSet d, boolean withLabelMask) {
        INDArray lm = withLabelMask ? d.getLabelsMaskArray() : null;
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).output(d.getFeatures(), false, d.getFeaturesMaskArray(), lm);
        }
        return ((ComputationGraph) net).output(false, new INDArray[] {d.getFeatures()},
                new INDArray[] {d.getFeaturesMaskArray()}, lm == null ? null : new INDArray[] {lm})[0];
    }

    private static double dl4jScore(Object net, DataSet d) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).score(d)
                : ((ComputationGraph) net).score(d);
    }

    /** DL4J's gradients of the masked score, divided by the minibatch as its updater divides them. */
    private static Map<String, INDArray> dl4jGradients(Object net, DataSet d) {
        Gradient g;
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork n = (MultiLayerNetwork) net;
            n.setInput(d.getFeatures());
            n.setLabels(d.getLabels());
            n.setLayerMaskArrays(d.getFeaturesMaskArray(), d.getLabelsMaskArray());
            n.computeGradientAndScore();
            g = n.gradient();
            n.clearLayerMaskArrays();
        } else {
            ComputationGraph n = (ComputationGraph) net;
            n.setInputs(d.getFeatures());
            n.setLabels(d.getLabels());
            n.setLayerMaskArrays(new INDArray[] {d.getFeaturesMaskArray()}, d.getLabelsMaskArray() == null ? null
                    : new INDArray[] {d.getLabelsMaskArray()});
            n.computeGradientAndScore();
            g = n.gradient();
            n.clearLayerMaskArrays();
        }
        Map<String, INDArray> result = new HashMap<>();
        g.gradientForVariable().forEach((k, v) -> result.put(k, v.div(N)));
        return result;
    }

    private static INDArray dl4jParameter(Object net, String key) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getParam(key)
                : ((ComputationGraph) net).getParam(key);
    }

    /** {@code gradient} against central differences of {@code score} in each element of {@code parameter}. */
    static void assertMatchesCentralDifferences(INDArray gradient, Supplier<Double> score,
                                                INDArray parameter, String what) {
        double eps = 1e-6;
        for (long k = 0; k < parameter.length(); k++) {
            long[] at = Shape.ind2subC(parameter, k);          // DL4J's parameters are 'f'-order views
            double v = parameter.getDouble(at);
            parameter.putScalar(at, v + eps);
            double up = score.get();
            parameter.putScalar(at, v - eps);
            double down = score.get();
            parameter.putScalar(at, v);
            double expected = (up - down) / (2 * eps);
            assertEquals(expected, gradient.getDouble(at), 1e-7 + 1e-5 * Math.abs(expected), what + "[" + k + "]");
        }
    }

    @ParameterizedTest(name = "{0}, align end {1}")
    @MethodSource("casesAndPadding")
    void outputsScoresAndGradientsEqualDl4jsOnMaskedBatches(Case c, boolean alignEnd) {
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        DataSet d = batch(c, T, alignEnd, 7);
        INDArray unmasked = m.output(d.getFeatures());
        assertRelativelyClose(dl4jOutput(net, d, false), m.output(d.getFeatures(), d.getFeaturesMaskArray(), null),
                1e-10, c + ": output with the features mask");
        if (c.seriesOutput()) {
            assertRelativelyClose(dl4jOutput(net, d, true), m.output(d.getFeatures(), d.getFeaturesMaskArray(),
                    d.getLabelsMaskArray()), 1e-10, c + ": output with both masks");
        }
        assertEquals(dl4jScore(net, d), m.score(d), 1e-10 * Math.abs(dl4jScore(net, d)), c + ": score");
        Map<String, INDArray> actual = m.gradients(d);
        if (c.dl4jGradientWrongAfterLeadingPadding() && alignEnd) {
            // DL4J's backward pass is wrong here: the gradients are those of DL4J's own score, by central differences
            actual.forEach((key, g) -> assertMatchesCentralDifferences(g, () -> dl4jScore(net, d),
                    dl4jParameter(net, key), c + ": gradient " + key + " against DL4J's score"));
        } else {
            dl4jGradients(net, d).forEach((key, g) -> assertRelativelyClose(g, actual.get(key), 1e-8,
                    c + ": gradient " + key));
        }
        // the unmasked calls are unchanged by the masked copy
        assertRelativelyClose(unmasked, m.output(d.getFeatures()), 0, c + ": unmasked output");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fitEqualsDl4jsFitOnMaskedBatchesOfTwoLengths(Case c) {
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        int shorter = fixedLength(c) ? T : T - 2;
        // DL4J's own training is wrong after leading padding there (its gradients): trailing padding only
        boolean alignEnd = !c.dl4jGradientWrongAfterLeadingPadding();
        List<DataSet> batches = List.of(batch(c, T, false, 1), batch(c, shorter, alignEnd, 2),
                batch(c, T, alignEnd, 3));
        for (DataSet d : batches) {
            m.fit(d);
            if (net instanceof MultiLayerNetwork) {
                ((MultiLayerNetwork) net).fit(d);
            } else {
                ((ComputationGraph) net).fit(d);
            }
        }
        INDArray dl4j = net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).params()
                : ((ComputationGraph) net).params();
        INDArray mine = net instanceof MultiLayerNetwork ? m.toMultiLayerNetwork(Map.of()).params()
                : m.toComputationGraph(Map.of()).params();
        assertRelativelyClose(dl4j, mine, 1e-8, c + ": parameters after three masked steps");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aBatchOfAnotherLengthBuildsItsOwnCopy(Case c) {
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        m.score(batch(c, T, false, 1));
        DataSet later = batch(c, fixedLength(c) ? T : T - 2, true, 4);
        assertRelativelyClose(dl4jOutput(net, later, false), m.output(later.getFeatures(),
                later.getFeaturesMaskArray(), null), 1e-10, c + ": output of a shorter batch");
        assertEquals(dl4jScore(net, later), m.score(later), 1e-10 * Math.abs(dl4jScore(net, later)),
                c + ": score of a shorter batch");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void maskedGradientsMatchCentralDifferencesOfTheMaskedScore(Case c) {
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        DataSet d = batch(c, fixedLength(c) ? T : 3, true, 11);
        Map<String, INDArray> gradients = m.gradients(d);
        var sd = m.graph().sameDiff();
        double eps = 1e-6;
        m.parameterKeys().forEach(key -> {
            INDArray p = sd.getVariable(m.param(key).name()).getArr();
            for (long i = 0; i < Math.min(4, p.length()); i++) {
                long k = (i * 7) % p.length();
                double v = p.getDouble(k);
                p.putScalar(k, v + eps);
                double up = m.score(d);
                p.putScalar(k, v - eps);
                double down = m.score(d);
                p.putScalar(k, v);
                double expected = (up - down) / (2 * eps);
                double actual = gradients.get(key).getDouble(k);
                assertEquals(expected, actual, 1e-6 + 1e-5 * Math.abs(expected), c + ": " + key + "[" + k + "]");
            }
        });
    }

    /**
     * Batch normalisation passes the mask on, computing every row as DL4J does: the converted graph computes it in
     * inference mode (README), so DL4J's inference output and score are compared, and the gradients (DL4J's are those
     * of its training mode) with central differences of the masked score.
     */
    @Test
    void batchNormalizationOnMaskedRowsComputesDl4jsInferenceOutputAndScore() {
        MultiLayerNetwork net = prelu(true);
        MutableNetwork m = MutableNetwork.of(net);
        for (boolean alignEnd : new boolean[] {false, true}) {
            DataSet d = batch(new Case("LSTM, batch normalisation", () -> net, true), T, alignEnd, 13);
            assertRelativelyClose(net.output(d.getFeatures(), false, d.getFeaturesMaskArray(), null),
                    m.output(d.getFeatures(), d.getFeaturesMaskArray(), null), 1e-10, "output, align end " + alignEnd);
            assertEquals(net.score(d), m.score(d), 1e-10 * Math.abs(net.score(d)), "score, align end " + alignEnd);
            Map<String, INDArray> gradients = m.gradients(d);
            for (String key : List.of("0_W", "1_W", "2_gamma", "2_beta", "3_W")) {
                assertMatchesCentralDifferences(gradients.get(key), () -> m.score(d),
                        m.graph().sameDiff().getVariable(m.param(key).name()).getArr(), key + ", align end "
                                + alignEnd);
            }
        }
    }

    @Test
    void anOutputLayerOnMaskedRowsAfterAConvolutionMatchesDl4jsScoreAndItsFiniteDifferences() {
        MultiLayerNetwork net = init(list(16)
                .layer(new Convolution1DLayer.Builder().nOut(3).kernelSize(2).stride(2)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.TANH).build())
                .layer(new LSTM.Builder().nOut(4).build())
                .layer(new DenseLayer.Builder().nOut(3).activation(Activation.SIGMOID).build())
                .layer(new DropoutLayer.Builder(0.5).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(OUT).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(IN, 6)).build());
        MutableNetwork m = MutableNetwork.of(net);
        Nd4j.getRandom().setSeed(17);
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, 6);
        INDArray mask = mask(6, true);
        // one row per example and step of the convolution's 3 output steps, time-major, as DL4J flattens them
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 3 * N, OUT);
        for (int r = 0; r < 3 * N; r++) {
            y.putScalar(r, r % OUT, 1.0);
        }
        DataSet d = new DataSet(x, y, mask, null);
        assertRelativelyClose(net.output(x, false, mask, null), m.output(x, mask, null), 1e-10, "output");
        net.clearLayerMaskArrays();
        assertScoreAndGradientsOfDl4jsScore(net, m, d);
    }

    /**
     * A LossLayer on the rows of a masked series, as DL4J's: padding rows zeroed in the output and left out of the
     * score (divided by all rows), for a loss averaged over the outputs (MSE) and one summed over them (L1); the
     * gradients those of DL4J's score (identity activations: its LossLayer's score is right there, README).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = LossFunction.class, names = {"MSE", "L1"})
    void aLossLayerOnMaskedRowsScoresTheRowsPresentAsDl4j(LossFunction loss) {
        MultiLayerNetwork net = init(list(24)
                .layer(new LSTM.Builder().nOut(4).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(3).activation(Activation.IDENTITY).build())
                .layer(new LossLayer.Builder(loss).activation(Activation.IDENTITY).build())
                .setInputType(InputType.recurrent(IN)).build());
        MutableNetwork m = MutableNetwork.of(net);
        Nd4j.getRandom().setSeed(25);
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T);
        INDArray mask = mask(T, false);
        INDArray y = Nd4j.rand(DataType.DOUBLE, T * N, 3);      // one row per example and step, time-major
        DataSet d = new DataSet(x, y, mask, null);
        INDArray expectedOutput = net.output(x, false, mask, null);
        net.clearLayerMaskArrays();
        INDArray output = m.output(x, mask, null);
        assertRelativelyClose(expectedOutput, output, 1e-10, "output");
        INDArray padding = mask.transpose().dup('c').reshape(T * N, 1).rsub(1.0);
        assertEquals(0.0, output.mul(padding).amaxNumber().doubleValue(), 0.0, "rows of padding zeroed");
        assertScoreAndGradientsOfDl4jsScore(net, m, d);
    }

    /** The masked score equals DL4J's, and the gradients central differences of DL4J's masked score. */
    private static void assertScoreAndGradientsOfDl4jsScore(MultiLayerNetwork net, MutableNetwork m, DataSet d) {
        double expected = net.score(d);
        net.clearLayerMaskArrays();
        assertEquals(expected, m.score(d), 1e-10 * expected, "score over the rows present");
        m.gradients(d).forEach((key, g) -> assertMatchesCentralDifferences(g, () -> {
            double score = net.score(d);
            net.clearLayerMaskArrays();
            return score;
        }, net.getParam(key), "gradient " + key + " against DL4J's score"));
    }

    @Test
    void layersThatCannotTakeAMaskAreRefusedByNameAndTheGraphIsUnchanged() {
        MultiLayerNetwork net = init(list(12)
                .layer(new ZeroPadding1DLayer.Builder(1).build())
                .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(IN).nOut(OUT)
                        .activation(Activation.IDENTITY).build()).build());
        MutableNetwork m = MutableNetwork.of(net);
        int variables = m.graph().sameDiff().variables().size();
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> m.output(x, mask(T, false), null));
        assertTrue(e.getMessage().contains("Layer 0 (ZeroPadding1DLayer)") && e.getMessage().contains("mask")
                && e.getMessage().contains("changes the number of time steps"), e.getMessage());
        assertEquals(variables, m.graph().sameDiff().variables().size(), "graph unchanged");
        assertRelativelyClose(net.output(x), m.output(x), 1e-10, "unmasked output still works");
    }

    @Test
    void anUnstackedPartKeepsTheMaskOfItsOwnInput() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(22).dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER).graphBuilder().addInputs("in0", "in1")
                .addLayer("a", new LSTM.Builder().nIn(IN).nOut(3).build(), "in0")
                .addLayer("b", new LSTM.Builder().nIn(IN).nOut(3).build(), "in1")
                .addVertex("stack", new StackVertex(), "a", "b")
                .addVertex("second", new UnstackVertex(1, 2), "stack")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "second")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(OUT)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").setInputTypes(InputType.recurrent(IN), InputType.recurrent(IN)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        Nd4j.getRandom().setSeed(23);
        INDArray[] x = {Nd4j.rand(DataType.DOUBLE, N, IN, T), Nd4j.rand(DataType.DOUBLE, N, IN, T)};
        // the two inputs' masks differ: pooling the second part with the first part's mask would show
        INDArray[] masks = {mask(T, false), mask(T, true)};
        INDArray expected = net.output(false, x, masks, null)[0];
        net.clearLayerMaskArrays();
        assertRelativelyClose(expected, m.outputs(x, masks, null)[0], 1e-10, "output of the second part");
        INDArray y = Nd4j.zeros(DataType.DOUBLE, N, OUT);
        for (int i = 0; i < N; i++) {
            y.putScalar(i, i % OUT, 1.0);
        }
        MultiDataSet d = new MultiDataSet(x, new INDArray[] {y}, masks, null);
        double score = net.score(d);
        net.clearLayerMaskArrays();
        assertEquals(score, m.score(d), 1e-10 * score, "score");
    }

    @Test
    void aMergeAlongTheTimeAxisOfMaskedSeriesIsRefused() {
        // without input types DL4J keeps the merge axis 1, the time axis of NWC series
        ComputationGraph net = new ComputationGraph(mergedGraph(RNNFormat.NWC, 20, false));
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        int variables = m.graph().sameDiff().variables().size();
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, T, IN);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> m.output(x, mask(T, false), null));
        assertTrue(e.getMessage().contains("\"merge\" (MergeVertex)") && e.getMessage().contains("time axis"),
                e.getMessage());
        assertEquals(variables, m.graph().sameDiff().variables().size(), "graph unchanged");
    }

    /** Output layers that DL4J scores with a labels mask per output (each output and step kept or not). */
    static Stream<Arguments> perOutputScoring() {
        return Stream.of(
                Arguments.of("RnnOutputLayer, MSE", new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(OUT)
                        .activation(Activation.IDENTITY).build(), 4),
                Arguments.of("RnnOutputLayer, sigmoid XENT", new RnnOutputLayer.Builder(LossFunction.XENT).nIn(4)
                        .nOut(OUT).activation(Activation.SIGMOID).build(), 4),
                Arguments.of("RnnOutputLayer, L1", new RnnOutputLayer.Builder(LossFunction.L1).nIn(4).nOut(OUT)
                        .activation(Activation.TANH).build(), 4),
                Arguments.of("RnnLossLayer, sigmoid XENT", new RnnLossLayer.Builder(LossFunction.XENT)
                        .activation(Activation.SIGMOID).build(), OUT));
    }

    /** A mask per output [N, OUT, steps] that keeps about half of the values, every example some. */
    private static INDArray perOutputMask(int steps, long seed) {
        java.util.Random random = new java.util.Random(seed);
        INDArray m = Nd4j.zeros(DataType.DOUBLE, N, OUT, steps);
        for (int i = 0; i < N; i++) {
            m.putScalar(new int[] {i, i % OUT, 0}, 1.0);
            for (int o = 0; o < OUT; o++) {
                for (int t = 0; t < steps; t++) {
                    if (random.nextBoolean()) {
                        m.putScalar(new int[] {i, o, t}, 1.0);
                    }
                }
            }
        }
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("perOutputScoring")
    void labelsMasksPerOutputScoreTrainAndZeroTheOutputAsDl4j(String name, Layer output, int lstmUnits) {
        Supplier<MultiLayerNetwork> network = () -> init(list(27)
                .layer(new LSTM.Builder().nIn(IN).nOut(lstmUnits).activation(Activation.TANH).build())
                .layer(output.clone()).build());
        MultiLayerNetwork net = network.get();
        MutableNetwork m = MutableNetwork.of(net);
        for (boolean withFeaturesMask : new boolean[] {false, true}) {
            DataSet d = batch(new Case(name, () -> net, true), T, false, 29);
            d.setLabels(Nd4j.rand(DataType.DOUBLE, N, OUT, T));
            d.setLabelsMaskArray(perOutputMask(T, 31));
            if (!withFeaturesMask) {
                d.setFeaturesMaskArray(null);
            }
            String what = name + (withFeaturesMask ? ", with a features mask" : "");
            assertRelativelyClose(net.output(d.getFeatures(), false, d.getFeaturesMaskArray(), d.getLabelsMaskArray()),
                    m.output(d.getFeatures(), d.getFeaturesMaskArray(), d.getLabelsMaskArray()), 1e-10,
                    what + ": output");
            assertEquals(net.score(d), m.score(d), 1e-10 * Math.abs(net.score(d)), what + ": score");
            Map<String, INDArray> mine = m.gradients(d);
            dl4jGradients(net, d).forEach((key, g) -> assertRelativelyClose(g, mine.get(key), 1e-8,
                    what + ": gradient " + key));
        }
        // the mask per output weighs: scored with a mask per step instead, the score differs
        DataSet d = batch(new Case(name, () -> net, true), T, false, 29);
        d.setLabels(Nd4j.rand(DataType.DOUBLE, N, OUT, T));
        DataSet perStep = d.copy();
        d.setLabelsMaskArray(perOutputMask(T, 31));
        assertNotEquals(m.score(perStep), m.score(d), 1e-6, name + ": the mask per output is read");
        MultiLayerNetwork trained = network.get();
        MutableNetwork mutable = MutableNetwork.of(network.get());
        for (int step = 0; step < 3; step++) {
            DataSet batch = batch(new Case(name, () -> trained, true), T, false, 40 + step);
            batch.setLabels(Nd4j.rand(DataType.DOUBLE, N, OUT, T));
            batch.setLabelsMaskArray(perOutputMask(T, 50 + step));
            trained.fit(batch);
            mutable.fit(batch);
        }
        assertRelativelyClose(trained.params(), mutable.toMultiLayerNetwork(Map.of()).params(), 1e-8,
                name + ": parameters after three steps with masks per output");
    }

    @Test
    void labelsMasksPerOutputAreRefusedWhereDl4jCannotReadThem() {
        Case c = cases().findFirst().orElseThrow();        // an LSTM, a softmax RnnOutputLayer scored by MCXENT
        MutableNetwork softmax = convert(c, c.network().get());
        DataSet d = batch(c, T, false, 33);
        d.setLabelsMaskArray(perOutputMask(T, 35));
        int variables = softmax.graph().sameDiff().variables().size();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> softmax.score(d));
        assertTrue(e.getMessage().contains("RnnOutputLayer") && e.getMessage().contains("per output")
                && e.getMessage().contains("softmax"), e.getMessage());
        assertEquals(variables, softmax.graph().sameDiff().variables().size(), "graph unchanged");

        Case nwc = cases().filter(k -> k.name().startsWith("NWC LSTM")).findFirst().orElseThrow();
        MutableNetwork m = convert(nwc, nwc.network().get());
        DataSet n = batch(nwc, T, false, 33);
        n.setLabelsMaskArray(Nd4j.ones(DataType.DOUBLE, N, T, OUT));
        IllegalArgumentException format = assertThrows(IllegalArgumentException.class, () -> m.score(n));
        assertTrue(format.getMessage().contains("NCW format only") && format.getMessage().contains("NWC"),
                format.getMessage());

        MultiLayerNetwork mse = init(list(27).layer(new LSTM.Builder().nIn(IN).nOut(4).build())
                .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(OUT).activation(Activation.IDENTITY)
                        .build()).build());
        MutableNetwork k = MutableNetwork.of(mse);
        DataSet s = batch(c, T, false, 33);
        s.setLabelsMaskArray(Nd4j.ones(DataType.DOUBLE, N, OUT, T - 1));
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> k.score(s));
        assertTrue(shape.getMessage().contains("[4, 2, 5]"), shape.getMessage());
        INDArray half = perOutputMask(T, 36).muli(0.5);
        IllegalArgumentException values = assertThrows(IllegalArgumentException.class,
                () -> k.output(s.getFeatures(), null, half));
        assertTrue(values.getMessage().contains("holds 0.5"), values.getMessage());
    }

    @Test
    void badMasksAreRefusedNamingTheMask() {
        Case c = cases().findFirst().orElseThrow();
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        DataSet d = batch(c, T, false, 13);
        INDArray x = d.getFeatures();
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> m.output(x, Nd4j.ones(DataType.DOUBLE, N, T - 1), null));
        assertTrue(shape.getMessage().contains("Input \"input\"") && shape.getMessage().contains("4 time steps"),
                shape.getMessage());
        INDArray half = Nd4j.ones(DataType.DOUBLE, N, T).muli(0.5);
        IllegalArgumentException values = assertThrows(IllegalArgumentException.class,
                () -> m.output(x, half, null));
        assertTrue(values.getMessage().contains("holds 0.5"), values.getMessage());
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> m.output(x, Nd4j.ones(DataType.DOUBLE, N + 1, T), null));
        assertTrue(rows.getMessage().contains("[N, T]"), rows.getMessage());
        MultiLayerNetwork dense = init(list(14).layer(new OutputLayer.Builder(LossFunction.MSE).nIn(IN).nOut(OUT)
                .activation(Activation.IDENTITY).build()).build());
        MutableNetwork flat = MutableNetwork.of(dense);
        IllegalArgumentException notSeries = assertThrows(IllegalArgumentException.class,
                () -> flat.score(new DataSet(Nd4j.rand(DataType.DOUBLE, N, IN), Nd4j.rand(DataType.DOUBLE, N, OUT),
                        null, Nd4j.ones(DataType.DOUBLE, N, 1))));
        assertTrue(notSeries.getMessage().contains("labels mask of output"), notSeries.getMessage());
        assertFalse(flat.graph().sameDiff().hasVariable("masked/loss"), "nothing built");
    }

    @Test
    void multiDataSetsCarryTheirMasks() {
        Case c = cases().findFirst().orElseThrow();
        Object net = c.network().get();
        MutableNetwork m = convert(c, net);
        DataSet d = batch(c, T, true, 15);
        MultiDataSet md = new MultiDataSet(new INDArray[] {d.getFeatures()}, new INDArray[] {d.getLabels()},
                new INDArray[] {d.getFeaturesMaskArray()}, new INDArray[] {d.getLabelsMaskArray()});
        assertEquals(dl4jScore(net, d), m.score(md), 1e-10 * Math.abs(dl4jScore(net, d)));
    }
}
