package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Masks through DL4J's SameDiff-based layers and {@code AttentionVertex}: DL4J gives their {@code defineLayer} the
 * features mask (attention then leaves the padding out of its keys) and passes it on unchanged; the converted graph
 * does the same. Masked output and score equal DL4J's; the gradients, which DL4J gets wrong through these layers, equal
 * central differences of DL4J's own masked score.
 */
@ExtendWith(DoubleDefaults.class)
class SameDiffLayerMaskingTest {

    private static final int IN = 3;
    private static final int OUT = 2;
    private static final int T = 5;
    private static final int N = 4;

    /** A network, its conversion, and whether its labels are series. */
    private record Case(String name, Supplier<Model> network, boolean seriesOutput, boolean graph) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static MultiLayerNetwork network(long seed, Layer... layers) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).list();
        for (Layer l : layers) {
            list.layer(l);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(list.setInputType(InputType.recurrent(IN, T)).build());
        net.init();
        return net;
    }

    private static RnnOutputLayer seriesOutput() {
        return new RnnOutputLayer.Builder(LossFunction.MSE).nOut(OUT).activation(Activation.IDENTITY).build();
    }

    /** Queries from "q", keys and values from "kv" (both [N, IN, T]), attention, a series output. */
    private static ComputationGraph attentionGraph() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(31)
                .dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).graphBuilder()
                .addInputs("q", "kv").setInputTypes(InputType.recurrent(IN, T), InputType.recurrent(IN, T))
                .addVertex("attention", new AttentionVertex.Builder().nOut(4).nHeads(2).nInQueries(IN).nInKeys(IN)
                        .nInValues(IN).projectInput(true).build(), "q", "kv", "kv")
                .addLayer("out", seriesOutput(), "attention")
                .setOutputs("out").build());
        net.init();
        return net;
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("LSTM, SelfAttentionLayer (2 heads, projected), RnnOutputLayer", () -> network(27,
                        new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                        new SelfAttentionLayer.Builder().nOut(4).nHeads(2).projectInput(true).build(),
                        seriesOutput()), true, false),
                new Case("SelfAttentionLayer without projection, average pooling, OutputLayer", () -> network(28,
                        new SelfAttentionLayer.Builder().nHeads(1).projectInput(false).build(),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        new OutputLayer.Builder(LossFunction.MSE).nOut(OUT).activation(Activation.IDENTITY).build()),
                        false, false),
                new Case("RecurrentAttentionLayer, RnnOutputLayer", () -> network(29,
                        new RecurrentAttentionLayer.Builder().nIn(IN).nOut(4).nHeads(2).projectInput(true)
                                .activation(Activation.TANH).build(), seriesOutput()), true, false),
                new Case("LocallyConnected1D in Same mode (the mask passed on), RnnOutputLayer", () -> network(30,
                        new LocallyConnected1D.Builder().nOut(4).kernelSize(3).stride(1)
                                .convolutionMode(ConvolutionMode.Same).activation(Activation.TANH).build(),
                        seriesOutput()), true, false),
                new Case("ComputationGraph: AttentionVertex, RnnOutputLayer", SameDiffLayerMaskingTest::attentionGraph,
                        true, true));
    }

    /** Each example's steps present: all, all but two, one, three (trailing padding). */
    private static INDArray mask(long seed) {
        int[] lengths = {T, T - 2, 1, 3};
        INDArray m = Nd4j.zeros(DataType.DOUBLE, N, T);
        for (int i = 0; i < N; i++) {
            int shift = (int) ((seed + i) % 2) * (T - lengths[i]);      // some padding leading
            for (int t = 0; t < lengths[i]; t++) {
                m.putScalar(i, shift + t, 1.0);
            }
        }
        return m;
    }

    private static MultiDataSet data(Case c, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray[] x = c.graph() ? new INDArray[] {Nd4j.rand(DataType.DOUBLE, N, IN, T),
            Nd4j.rand(DataType.DOUBLE, N, IN, T)} : new INDArray[] {Nd4j.rand(DataType.DOUBLE, N, IN, T)};
        // the graph: queries unmasked (a mask of ones in DL4J), keys and values masked
        INDArray[] masks = c.graph() ? new INDArray[] {null, mask(seed)} : new INDArray[] {mask(seed)};
        INDArray y = c.seriesOutput() ? Nd4j.rand(DataType.DOUBLE, N, OUT, T) : Nd4j.rand(DataType.DOUBLE, N, OUT);
        return new MultiDataSet(x, new INDArray[] {y}, masks, null);
    }

    private static MutableNetwork convert(Model net) {
        return net instanceof MultiLayerNetwork mln ? MutableNetwork.of(mln, T)
                : MutableNetwork.of((ComputationGraph) net, T);
    }

    private static INDArray dl4jOutput(Model net, MultiDataSet d) {
        INDArray out = net instanceof MultiLayerNetwork mln
                ? mln.output(d.getFeatures(0).dup(), false, d.getFeaturesMaskArray(0), null)
                : ((ComputationGraph) net).output(false, new INDArray[] {d.getFeatures(0).dup(),
                    d.getFeatures(1).dup()}, d.getFeaturesMaskArrays(), null)[0];
        clearMasks(net);
        return out;
    }

    private static double dl4jScore(Model net, MultiDataSet d) {
        double score = net instanceof MultiLayerNetwork mln
                ? mln.score(new org.nd4j.linalg.dataset.DataSet(d.getFeatures(0), d.getLabels(0),
                d.getFeaturesMaskArray(0), null))
                : ((ComputationGraph) net).score(d);
        clearMasks(net);
        return score;
    }

    private static void clearMasks(Model net) {
        if (net instanceof MultiLayerNetwork mln) {
            mln.clearLayerMaskArrays();
        } else {
            ((ComputationGraph) net).clearLayerMaskArrays();
        }
    }

    private static INDArray[] outputs(MutableNetwork m, MultiDataSet d) {
        return m.outputs(d.getFeatures(), d.getFeaturesMaskArrays(), null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void maskedOutputAndScoreEqualDl4jsAndTheGradientsItsScoresCentralDifferences(Case c) {
        Model net = c.network().get();
        MutableNetwork m = convert(net);
        MultiDataSet d = data(c, 5);
        INDArray masked = outputs(m, d)[0];
        assertClose(dl4jOutput(net, d), masked, 1e-10, c + ": masked output");
        double score = m.score(d);
        assertEquals(dl4jScore(net, d), score, 1e-10 * Math.abs(score), c + ": masked score");
        // the mask matters: without it the output at present steps differs (attention reads the padding)
        if (!c.name().startsWith("LocallyConnected")) {
            INDArray unmasked = m.outputs(d.getFeatures())[0];
            assertTrue(unmasked.sub(masked).amaxNumber().doubleValue() > 1e-6, c + ": the mask changes nothing");
        }
        m.gradients(d).forEach((key, g) -> SequenceMaskingTest.assertMatchesCentralDifferences(g,
                () -> dl4jScore(net, d), net.paramTable().get(key), c + ": gradient " + key
                        + " against DL4J's masked score"));
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()), what);
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= tolerance * scale, what + ": differs by " + diff);
    }

    /** A LocallyConnected1D in Truncate mode shortens the series; DL4J passes the mask on regardless. */
    @Test
    void aLayerThatChangesTheNumberOfStepsIsRefusedAndTheGraphIsUnchanged() {
        MultiLayerNetwork net = network(32, new LocallyConnected1D.Builder().nOut(4).kernelSize(2).stride(1)
                .convolutionMode(ConvolutionMode.Truncate).activation(Activation.TANH).build(), seriesOutput());
        MutableNetwork m = MutableNetwork.of(net, T);
        int variables = m.graph().sameDiff().variables().size();
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> m.output(x, mask(1), null));
        assertTrue(e.getMessage().contains("LocallyConnected1D") && e.getMessage().contains("5 to 4"),
                e.getMessage());
        assertEquals(variables, m.graph().sameDiff().variables().size(), "graph unchanged");
    }

    /** A mask-reading layer on a series whose own ones are [N, 1], not DL4J's default [N, T]. */
    static final class OwnOnesLayer extends CustomLayers.MaskReading {
        OwnOnesLayer() {
            super(true);
        }

        @Override
        public INDArray onesMaskForInput(INDArray input) {
            return Nd4j.ones(input.dataType(), input.size(0), 1);
        }
    }

    @Test
    void aUsersLayerWithOtherOnesThanDl4jsDefaultIsRefusedByNameAndOneWithoutMaskReadingHoldsNoOnes() {
        MultiLayerNetwork own = network(34, new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                new OwnOnesLayer(), seriesOutput());
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(own));
        assertTrue(e.getMessage().contains("OwnOnesLayer") && e.getMessage().contains("onesMaskForInput")
                && e.getMessage().contains("a mask of shape [2, 1]"), e.getMessage());
        // a layer that does not read its mask: the ones made for it are removed again
        MultiLayerNetwork ignoring = network(35, new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                new OwnMaskLayer(), seriesOutput());
        assertTrue(MutableNetwork.of(ignoring).graph().sameDiff().getOps().values().stream()
                .noneMatch(op -> op.getOp().opName().equals("ones_as")), "no ones left in the graph");
        MultiLayerNetwork reading = network(36, new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                new CustomLayers.MaskReading(true), seriesOutput());
        assertTrue(MutableNetwork.of(reading).graph().sameDiff().getOps().values().stream()
                .anyMatch(op -> op.getOp().opName().equals("ones_as")), "the ones the layer reads");
    }

    /** A user's layer that decides the mask after it in Java. */
    static final class OwnMaskLayer extends SameDiffLayer {
        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> params, SDVariable mask) {
            return sd.math().tanh(x);
        }

        @Override
        public void defineParameters(SDLayerParams params) {
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return inputType;
        }

        @Override
        public Pair<INDArray, MaskState> feedForwardMaskArray(INDArray mask, MaskState state, int minibatch) {
            return null;
        }
    }

    @Test
    void aUsersLayerWithItsOwnMaskAfterItIsRefusedByName() {
        MultiLayerNetwork net = network(33, new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                new OwnMaskLayer(), seriesOutput());
        MutableNetwork m = MutableNetwork.of(net, T);
        INDArray x = Nd4j.rand(DataType.DOUBLE, N, IN, T);
        assertClose(net.output(x.dup()), m.output(x), 1e-12, "unmasked output");
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> m.output(x, mask(1), null));
        assertTrue(e.getMessage().contains("OwnMaskLayer") && e.getMessage().contains("feedForwardMaskArray"),
                e.getMessage());
    }
}
