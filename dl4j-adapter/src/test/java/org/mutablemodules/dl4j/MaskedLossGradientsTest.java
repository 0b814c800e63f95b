package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mutablemodules.dl4j.Checks.assertRelativelyClose;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link FunctionalView#lossGradients(SDVariable, SDVariable, SDVariable, SDVariable, Map)}: the explicit backward
 * rules with DL4J's masks of variable-length series equal the network's own masked gradients (which equal DL4J's, or
 * central differences of DL4J's score where DL4J's are wrong: {@code SequenceMaskingTest}), and a MAML meta-gradient
 * through a masked inner step passes central differences (second order).
 */
@ExtendWith(DoubleDefaults.class)
class MaskedLossGradientsTest {

    private static final int N = 4;
    private static final int IN = 3;
    private static final int OUT = 2;
    private static final int T = 5;

    /**
     * A network, whether its output is a series, whether the features mask changes its gradients, and whether its
     * series are NWC ([N, T, n]) rather than NCW.
     */
    private record Case(String name, Supplier<MultiLayerNetwork> network, boolean seriesOutput,
                        boolean featuresMaskCounts, boolean nwc) {
        Case(String name, Supplier<MultiLayerNetwork> network, boolean seriesOutput, boolean featuresMaskCounts) {
            this(name, network, seriesOutput, featuresMaskCounts, false);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static MultiLayerNetwork network(long seed, org.deeplearning4j.nn.conf.layers.Layer... layers) {
        return network(seed, RNNFormat.NCW, layers);
    }

    private static MultiLayerNetwork network(long seed, RNNFormat format,
                                             org.deeplearning4j.nn.conf.layers.Layer... layers) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).list();
        for (org.deeplearning4j.nn.conf.layers.Layer l : layers) {
            list.layer(l);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(list.setInputType(
                org.deeplearning4j.nn.conf.inputs.InputType.recurrent(IN, T, format)).build());
        net.init();
        return net;
    }

    private static SimpleRnn simpleRnn(int nOut) {
        return new SimpleRnn.Builder().nOut(nOut).activation(Activation.TANH).build();
    }

    private static LSTM lstm(int nOut) {
        return new LSTM.Builder().nOut(nOut).activation(Activation.TANH).build();
    }

    private static OutputLayer mse() {
        return new OutputLayer.Builder(LossFunction.MSE).nOut(OUT).activation(Activation.IDENTITY).build();
    }

    private static GlobalPoolingLayer pooling(PoolingType type) {
        return new GlobalPoolingLayer.Builder(type).build();
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("SimpleRnn, MSE RnnOutputLayer", () -> network(1, simpleRnn(4),
                        new RnnOutputLayer.Builder(LossFunction.MSE).nOut(OUT).activation(Activation.IDENTITY)
                                .build()), true, true),
                new Case("LSTM (computes without the mask, as DL4J's), softmax RnnOutputLayer", () -> network(2,
                        lstm(4), new RnnOutputLayer.Builder(LossFunction.MCXENT).nOut(OUT)
                                .activation(Activation.SOFTMAX).build()), true, false),
                new Case("LSTM in LastTimeStep, dense, OutputLayer", () -> network(3, new LastTimeStep(lstm(4)),
                        new DenseLayer.Builder().nOut(3).activation(Activation.SIGMOID).build(), mse()), false, true),
                new Case("SimpleRnn in LastTimeStep, OutputLayer", () -> network(4, new LastTimeStep(simpleRnn(4)),
                        mse()), false, true),
                new Case("SimpleRnn, max pooling over time, OutputLayer", () -> network(5, simpleRnn(4),
                        pooling(PoolingType.MAX), mse()), false, true),
                new Case("LSTM, tanh ActivationLayer, SimpleRnn, average pooling, OutputLayer", () -> network(6,
                        lstm(4), new ActivationLayer.Builder().activation(Activation.TANH).build(), simpleRnn(3),
                        pooling(PoolingType.AVG), mse()), false, true),
                new Case("SimpleRnn, sum pooling over time, OutputLayer", () -> network(7, simpleRnn(4),
                        pooling(PoolingType.SUM), mse()), false, true),
                new Case("NWC: SimpleRnn, softmax RnnOutputLayer", () -> network(9, RNNFormat.NWC,
                        new SimpleRnn.Builder().nOut(4).activation(Activation.TANH).dataFormat(RNNFormat.NWC).build(),
                        new RnnOutputLayer.Builder(LossFunction.MCXENT).nOut(OUT).activation(Activation.SOFTMAX)
                                .dataFormat(RNNFormat.NWC).build()), true, true, true),
                new Case("NWC: LSTM in LastTimeStep, OutputLayer", () -> network(10, RNNFormat.NWC,
                        new LastTimeStep(new LSTM.Builder().nOut(4).activation(Activation.TANH)
                                .dataFormat(RNNFormat.NWC).build()), mse()), false, true, true));
    }

    /** Each example's steps present: all, all but two (leading padding), one, three (leading padding). */
    private static INDArray mask() {
        INDArray m = Nd4j.zeros(DataType.DOUBLE, N, T);
        int[] lengths = {T, T - 2, 1, 3};
        for (int i = 0; i < N; i++) {
            int shift = i % 2 == 1 ? T - lengths[i] : 0;
            for (int t = 0; t < lengths[i]; t++) {
                m.putScalar(i, shift + t, 1.0);
            }
        }
        return m;
    }

    private static DataSet batch(Case c, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T).subi(0.5);
        INDArray y;
        if (c.seriesOutput()) {
            y = Nd4j.zeros(DataType.DOUBLE, N, OUT, T);
            for (int i = 0; i < N; i++) {
                for (int t = 0; t < T; t++) {
                    y.putScalar(new int[] {i, (int) ((seed + i + t) % OUT), t}, 1.0);
                }
            }
        } else {
            y = Nd4j.rand(DataType.DOUBLE, N, OUT);
        }
        INDArray labelMask = c.seriesOutput() ? Nd4j.rand(DataType.DOUBLE, N, T).gt(0.3).castTo(DataType.DOUBLE)
                : null;
        if (c.nwc()) {
            x = x.permute(0, 2, 1).dup();
            y = c.seriesOutput() ? y.permute(0, 2, 1).dup() : y;
        }
        return new DataSet(x, y, mask(), labelMask);
    }

    /** Placeholders of the data: x, y, the features mask, and (series outputs) the labels mask. */
    private record Inputs(SDVariable x, SDVariable y, SDVariable mask, SDVariable labelMask) {
        static Inputs of(SameDiff sd, String prefix, Case c) {
            boolean seriesOutput = c.seriesOutput();
            return new Inputs(sd.placeHolder(prefix + "x", DataType.DOUBLE, c.nwc() ? new long[] {-1, T, IN}
                            : new long[] {-1, IN, T}),
                    sd.placeHolder(prefix + "y", DataType.DOUBLE, !seriesOutput ? new long[] {-1, OUT}
                            : c.nwc() ? new long[] {-1, T, OUT} : new long[] {-1, OUT, T}),
                    sd.placeHolder(prefix + "mask", DataType.DOUBLE, -1, T),
                    seriesOutput ? sd.placeHolder(prefix + "labelMask", DataType.DOUBLE, -1, T) : null);
        }

        void feed(Map<String, INDArray> feed, DataSet d) {
            feed.put(x.name(), d.getFeatures());
            feed.put(y.name(), d.getLabels());
            feed.put(mask.name(), d.getFeaturesMaskArray());
            if (labelMask != null) {
                feed.put(labelMask.name(), d.getLabelsMaskArray());
            }
        }
    }

    private static Map<String, INDArray> values(MutableNetwork m, Map<String, SDVariable> gradients,
                                                Map<String, INDArray> feed) {
        Map<String, INDArray> out = m.graph().output(feed, gradients.values().stream().map(SDVariable::name)
                .toArray(String[]::new));
        Map<String, INDArray> byKey = new LinkedHashMap<>();
        gradients.forEach((key, g) -> byKey.put(key, out.get(g.name())));
        return byKey;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void maskedExplicitGradientsEqualTheNetworksMaskedGradients(Case c) {
        MutableNetwork m = MutableNetwork.of(c.network().get(), T);
        Inputs in = Inputs.of(m.graph().sameDiff(), "data/", c);
        DataSet d = batch(c, 11);
        Map<String, INDArray> feed = new LinkedHashMap<>();
        in.feed(feed, d);
        FunctionalView f = m.functional();
        Map<String, INDArray> both = values(m, f.lossGradients(in.x(), in.y(), in.mask(), in.labelMask(), Map.of()),
                feed);
        Map<String, INDArray> expected = m.gradients(d);
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(both.keySet()), c + ": keys");
        expected.forEach((key, g) -> assertRelativelyClose(g, both.get(key), 1e-10, c + ": " + key));
        // the features mask alone; and each mask matters (a rule that ignored it would fail)
        Map<String, INDArray> featuresOnly = values(m, f.lossGradients(in.x(), in.y(), in.mask(), null, Map.of()),
                feed);
        DataSet onlyFeatures = new DataSet(d.getFeatures(), d.getLabels(), d.getFeaturesMaskArray(), null);
        Map<String, INDArray> unmasked = m.gradients(d.getFeatures(), d.getLabels());
        m.gradients(onlyFeatures).forEach((key, g) -> assertRelativelyClose(g, featuresOnly.get(key), 1e-10,
                c + ": features mask only, " + key));
        double featuresEffect = 0;
        double labelsEffect = 0;
        for (String key : unmasked.keySet()) {
            featuresEffect = Math.max(featuresEffect, featuresOnly.get(key).sub(unmasked.get(key)).amaxNumber()
                    .doubleValue());
            labelsEffect = Math.max(labelsEffect, both.get(key).sub(featuresOnly.get(key)).amaxNumber()
                    .doubleValue());
        }
        assertEquals(c.featuresMaskCounts(), featuresEffect > 1e-6, c + ": the features mask changes the "
                + "gradients (by " + featuresEffect + ")");
        assertEquals(c.seriesOutput(), labelsEffect > 1e-6, c + ": the labels mask changes them (by "
                + labelsEffect + ")");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aMetaGradientThroughAMaskedInnerStepPassesCentralDifferences(Case c) {
        MutableNetwork m = MutableNetwork.of(c.network().get(), T);
        SameDiff sd = m.graph().sameDiff();
        Inputs support = Inputs.of(sd, "support/", c);
        Inputs query = Inputs.of(sd, "query/", c);
        Map<String, SDVariable> adapted = new LinkedHashMap<>();
        for (String key : m.parameterKeys()) {
            adapted.put(key, m.param(key).value());
        }
        Map<String, SDVariable> g = m.functional().lossGradients(support.x(), support.y(), support.mask(),
                support.labelMask(), adapted);
        Map<String, SDVariable> stepped = new LinkedHashMap<>();
        adapted.forEach((key, value) -> stepped.put(key, value.sub(g.get(key).mul(0.3))));
        SDVariable metaLoss = m.functional().loss(query.x(), query.y(), query.mask(), query.labelMask(), stepped);
        sd.setLossVariables(metaLoss.name());
        Map<String, INDArray> feed = new LinkedHashMap<>();
        support.feed(feed, batch(c, 12));
        query.feed(feed, batch(c, 13));
        FunctionalCallTest.assertParameterGradientsMatchFiniteDifferences(m, metaLoss, feed);
    }

    @Test
    void aComputationGraphChainGivesTheNetworksMaskedGradients() {
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(12)
                .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).graphBuilder().addInputs("in")
                .setInputTypes(org.deeplearning4j.nn.conf.inputs.InputType.recurrent(IN, T))
                .addLayer("rnn", simpleRnn(4), "in")
                .addLayer("last", new LastTimeStep(lstm(3)), "rnn")
                .addLayer("out", mse(), "last")
                .setOutputs("out").build());
        graph.init();
        MutableNetwork m = MutableNetwork.of(graph, T);
        Case c = new Case("graph", () -> null, false, true);
        Inputs in = Inputs.of(m.graph().sameDiff(), "data/", c);
        DataSet d = batch(c, 14);
        Map<String, INDArray> feed = new LinkedHashMap<>();
        in.feed(feed, d);
        Map<String, INDArray> explicit = values(m, m.functional().lossGradients(in.x(), in.y(), in.mask(), null,
                Map.of()), feed);
        Map<String, INDArray> expected = m.gradients(new org.nd4j.linalg.dataset.MultiDataSet(
                new INDArray[] {d.getFeatures()}, new INDArray[] {d.getLabels()},
                new INDArray[] {d.getFeaturesMaskArray()}, null));
        assertEquals(List.of("rnn_W", "rnn_RW", "rnn_b", "last_W", "last_RW", "last_b", "out_W", "out_b"),
                List.copyOf(explicit.keySet()));
        expected.forEach((key, g) -> assertRelativelyClose(g, explicit.get(key), 1e-10, "graph: " + key));
        assertTrue(expected.get("rnn_W").sub(m.gradients(d.getFeatures(), d.getLabels()).get("rnn_W")).amaxNumber()
                .doubleValue() > 1e-6, "the mask matters");
    }

    @Test
    void masksWithoutAMaskedRuleAreRefusedNamingTheLayerAndTheGraphIsUnchanged() {
        MutableNetwork pooled = MutableNetwork.of(network(8, simpleRnn(4), pooling(PoolingType.MAX), mse()), T);
        SameDiff sd = pooled.graph().sameDiff();
        Inputs in = Inputs.of(sd, "data/", cases().filter(c -> !c.seriesOutput()).findFirst().orElseThrow());
        SDVariable labelMask = sd.placeHolder("data/labelMask", DataType.DOUBLE, -1, T);
        int variables = sd.variables().size();
        int ops = sd.getOps().size();
        IllegalArgumentException notSeries = assertThrows(IllegalArgumentException.class,
                () -> pooled.functional().lossGradients(in.x(), in.y(), in.mask(), labelMask, Map.of()));
        assertTrue(notSeries.getMessage().contains("Layer 2 (OutputLayer)")
                && notSeries.getMessage().contains("RnnOutputLayer"), notSeries.getMessage());
        IllegalArgumentException training = assertThrows(IllegalArgumentException.class,
                () -> pooled.functional().training().lossGradients(in.x(), in.y(), in.mask(), null, Map.of()));
        assertTrue(training.getMessage().contains("training view"), training.getMessage());
        assertEquals(variables, sd.variables().size(), "no variable added");
        assertEquals(ops, sd.getOps().size(), "no op added");
    }
}
