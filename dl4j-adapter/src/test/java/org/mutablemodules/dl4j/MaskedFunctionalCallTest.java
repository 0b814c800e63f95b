package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mutablemodules.dl4j.Checks.assertRelativelyClose;

import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
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
 * {@link FunctionalView}'s functional calls with DL4J's masks of variable-length series: equal to the network's own
 * masked output and score without substitution, to DL4J's masked output and score of a network holding the
 * substituted parameters, and differentiable upstream of them (central differences).
 */
@ExtendWith(DoubleDefaults.class)
class MaskedFunctionalCallTest {

    private static final int N = 4;
    private static final int IN = 3;
    private static final int OUT = 2;
    private static final int T = 5;

    private static MultiLayerNetwork init(NeuralNetConfiguration.ListBuilder list) {
        MultiLayerNetwork net = new MultiLayerNetwork(list.build());
        net.init();
        return net;
    }

    private static NeuralNetConfiguration.ListBuilder list(long seed) {
        return new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER).list();
    }

    /** Networks, whether they score per time step, and the sequence length they are converted for (0: any). */
    static Stream<Arguments> networks() {
        return Stream.of(
                Arguments.of("LSTM, softmax RnnOutputLayer", (Supplier<MultiLayerNetwork>) () -> init(list(1)
                        .layer(new LSTM.Builder().nIn(IN).nOut(4).activation(Activation.TANH).build())
                        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(OUT)
                                .activation(Activation.SOFTMAX).build())), true, 0),
                Arguments.of("LSTM in LastTimeStep, dense, OutputLayer", (Supplier<MultiLayerNetwork>) () -> init(
                        list(2).layer(new LastTimeStep(new LSTM.Builder().nIn(IN).nOut(4).build()))
                                .layer(new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.SIGMOID).build())
                                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(OUT)
                                        .activation(Activation.IDENTITY).build())), false, 0),
                Arguments.of("SimpleRnn (unrolled), MSE RnnOutputLayer", (Supplier<MultiLayerNetwork>) () -> init(
                        list(3).layer(new SimpleRnn.Builder().nIn(IN).nOut(4).activation(Activation.TANH).build())
                                .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(OUT)
                                        .activation(Activation.IDENTITY).build())), true, T));
    }

    private static MutableNetwork convert(MultiLayerNetwork net, int length) {
        return length > 0 ? MutableNetwork.of(net, length) : MutableNetwork.of(net);
    }

    /** Series, labels and masks: the examples keep all steps, all but two, one, three; trailing padding. */
    private static DataSet batch(boolean seriesOutput, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T);
        INDArray mask = Nd4j.zeros(DataType.DOUBLE, N, T);
        int[] lengths = {T, T - 2, 1, 3};
        for (int i = 0; i < N; i++) {
            for (int t = 0; t < lengths[i]; t++) {
                mask.putScalar(i, t, 1.0);
            }
        }
        INDArray y = seriesOutput ? Nd4j.zeros(DataType.DOUBLE, N, OUT, T) : Nd4j.rand(DataType.DOUBLE, N, OUT);
        if (seriesOutput) {
            for (int i = 0; i < N; i++) {
                for (int t = 0; t < T; t++) {
                    y.putScalar(new int[] {i, (i + t) % OUT, t}, 1.0);
                }
            }
        }
        return new DataSet(x, y, mask, seriesOutput ? mask.dup() : null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void maskedCallsEqualTheNetworksAndDl4jsMaskedOutputAndScore(String name, Supplier<MultiLayerNetwork> network,
                                                               boolean seriesOutput, int length) {
        MultiLayerNetwork net = network.get();
        MutableNetwork m = convert(net, length);
        SameDiff sd = m.graph().sameDiff();
        DataSet d = batch(seriesOutput, 5);
        SDVariable x = sd.placeHolder("series", DataType.DOUBLE, -1, IN, -1);
        SDVariable y = sd.placeHolder("targets", DataType.DOUBLE, seriesOutput ? new long[] {-1, OUT, -1}
                : new long[] {-1, OUT});
        // the mask's length from its shape where the network has none, else any (the conversion's)
        SDVariable mask = sd.placeHolder("steps", DataType.DOUBLE, -1, length > 0 ? -1 : T);
        SDVariable labelMask = seriesOutput ? sd.placeHolder("scored", DataType.DOUBLE, -1, T) : null;
        FunctionalView f = m.functional();
        SDVariable out = f.forward(x, mask, Map.of());
        SDVariable loss = f.loss(x, y, mask, labelMask, Map.of());
        Map<String, INDArray> feed = seriesOutput ? Map.of("series", d.getFeatures(), "targets", d.getLabels(),
                "steps", d.getFeaturesMaskArray(), "scored", d.getLabelsMaskArray())
                : Map.of("series", d.getFeatures(), "targets", d.getLabels(), "steps", d.getFeaturesMaskArray());
        Map<String, INDArray> values = m.graph().output(feed, out.name(), loss.name());
        assertRelativelyClose(m.output(d.getFeatures(), d.getFeaturesMaskArray(), null), values.get(out.name()),
                1e-12, name + ": masked output");
        assertEquals(m.score(d), values.get(loss.name()).getDouble(0), 1e-12, name + ": masked score");
        // no masks given: the plain call; a labels mask alone: scored on its steps only
        SDVariable plain = f.loss(x, y, null, null, Map.of());
        DataSet unmasked = new DataSet(d.getFeatures(), d.getLabels());
        assertEquals(m.score(unmasked), m.graph().output(feed, plain.name()).get(plain.name()).getDouble(0), 1e-12,
                name + ": no masks");
        if (seriesOutput) {
            SDVariable scoredOnly = f.loss(x, y, null, labelMask, Map.of());
            DataSet labelsMasked = new DataSet(d.getFeatures(), d.getLabels(), null, d.getLabelsMaskArray());
            assertEquals(m.score(labelsMasked), m.graph().output(feed, scoredOnly.name()).get(scoredOnly.name())
                    .getDouble(0), 1e-12, name + ": a labels mask alone");
            assertTrue(Math.abs(m.score(labelsMasked) - m.score(unmasked)) > 1e-6, name + ": the labels mask counts");
        }

        // half the first layer's input weights: DL4J's network holding them computes the same
        SDVariable w = m.param("0_W").value();
        SDVariable halfOut = f.forward(x, mask, Map.of("0_W", w.mul(0.5)));
        SDVariable halfLoss = f.loss(x, y, mask, labelMask, Map.of("0_W", w.mul(0.5)));
        Map<String, INDArray> half = m.graph().output(feed, halfOut.name(), halfLoss.name());
        MultiLayerNetwork halved = net.clone();
        halved.getParam("0_W").muli(0.5);
        assertRelativelyClose(halved.output(d.getFeatures(), false, d.getFeaturesMaskArray(), null),
                half.get(halfOut.name()), 1e-10, name + ": DL4J's masked output with 0_W halved");
        assertEquals(halved.score(d), half.get(halfLoss.name()).getDouble(0), 1e-10 * Math.abs(halved.score(d)),
                name + ": DL4J's masked score with 0_W halved");
        assertRelativelyClose(net.output(d.getFeatures(), false, d.getFeaturesMaskArray(), null),
                m.output(d.getFeatures(), d.getFeaturesMaskArray(), null), 1e-10, name + ": the network unchanged");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void aMaskedLossIsDifferentiableUpstreamOfTheParameters(String name, Supplier<MultiLayerNetwork> network,
                                                           boolean seriesOutput, int length) {
        MutableNetwork m = convert(network.get(), length);
        SameDiff sd = m.graph().sameDiff();
        DataSet d = batch(seriesOutput, 6);
        SDVariable x = sd.placeHolder("series", DataType.DOUBLE, -1, IN, -1);
        SDVariable y = sd.placeHolder("targets", DataType.DOUBLE, seriesOutput ? new long[] {-1, OUT, -1}
                : new long[] {-1, OUT});
        SDVariable mask = sd.placeHolder("steps", DataType.DOUBLE, -1, T);
        // a scale from a variable upstream of the first layer's weights: a one-parameter hypernetwork
        SDVariable scale = sd.var("scale", Nd4j.scalar(DataType.DOUBLE, 0.8));
        SDVariable w = m.param("0_W").value();
        SDVariable loss = m.functional().loss(x, y, mask, null, Map.of("0_W", w.mul(scale)));
        Map<String, INDArray> feed = Map.of("series", d.getFeatures(), "targets", d.getLabels(), "steps",
                d.getFeaturesMaskArray());
        double gradient = m.graph().gradientsOf(loss.name(), feed, "scale").get("scale").getDouble(0);
        double eps = 1e-6;
        scale.getArr().assign(0.8 + eps);
        double up = m.graph().output(feed, loss.name()).get(loss.name()).getDouble(0);
        scale.getArr().assign(0.8 - eps);
        double down = m.graph().output(feed, loss.name()).get(loss.name()).getDouble(0);
        scale.getArr().assign(0.8);
        double expected = (up - down) / (2 * eps);
        assertTrue(Math.abs(expected) > 1e-6, name + ": the scale matters");
        assertEquals(expected, gradient, 1e-7 + 1e-5 * Math.abs(expected), name + ": gradient of the scale");
    }

    @Test
    void badMasksAreRefusedNamingTheMaskAndTheGraphIsUnchanged() {
        MutableNetwork series = MutableNetwork.of(networks().findFirst().map(a -> ((Supplier<?>) a.get()[1]).get())
                .map(MultiLayerNetwork.class::cast).orElseThrow());
        SameDiff sd = series.graph().sameDiff();
        SDVariable x = sd.placeHolder("series", DataType.DOUBLE, -1, IN, -1);
        int variables = sd.variables().size();
        SDVariable open = sd.placeHolder("open", DataType.DOUBLE, -1, -1);
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> series.functional().forward(x, open, Map.of()));
        assertTrue(unknown.getMessage().contains("number of time steps"), unknown.getMessage());
        SDVariable floats = sd.placeHolder("floats", DataType.FLOAT, -1, T);
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> series.functional().forward(x, floats, Map.of()));
        assertTrue(type.getMessage().contains("\"floats\"") && type.getMessage().contains("FLOAT"),
                type.getMessage());
        SDVariable rank3 = sd.placeHolder("rank3", DataType.DOUBLE, -1, 1, T);
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> series.functional().forward(x, rank3, Map.of()));
        assertTrue(rank.getMessage().contains("\"rank3\"") && rank.getMessage().contains("[N, T]"),
                rank.getMessage());
        SDVariable other = SameDiff.create().placeHolder("elsewhere", DataType.DOUBLE, -1, T);
        IllegalArgumentException graph = assertThrows(IllegalArgumentException.class,
                () -> series.functional().forward(x, other, Map.of()));
        assertTrue(graph.getMessage().contains("another SameDiff graph"), graph.getMessage());
        SDVariable good = sd.placeHolder("good", DataType.DOUBLE, -1, T);
        IllegalArgumentException training = assertThrows(IllegalArgumentException.class,
                () -> series.functional().training().forward(x, good, Map.of()));
        assertTrue(training.getMessage().contains("training view"), training.getMessage());
        assertEquals(variables + 4, sd.variables().size(), "only the test's own placeholders were added");

        MutableNetwork dense = MutableNetwork.of(init(list(4).layer(new OutputLayer.Builder(LossFunction.MSE)
                .nIn(IN).nOut(OUT).activation(Activation.IDENTITY).build())));
        SameDiff flat = dense.graph().sameDiff();
        SDVariable rows = flat.placeHolder("rows", DataType.DOUBLE, -1, IN);
        SDVariable mask = flat.placeHolder("mask", DataType.DOUBLE, -1, T);
        IllegalArgumentException notSeries = assertThrows(IllegalArgumentException.class,
                () -> dense.functional().forward(rows, mask, Map.of()));
        assertTrue(notSeries.getMessage().contains("no time series"), notSeries.getMessage());
    }
}
