package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mutablemodules.dl4j.CustomLayers.DropsMinibatch;
import org.mutablemodules.dl4j.CustomLayers.JavaDoubling;
import org.mutablemodules.dl4j.CustomLayers.JavaDoublingVertex;
import org.mutablemodules.dl4j.CustomLayers.MissingActivations;
import org.mutablemodules.dl4j.CustomLayers.MseOutput;
import org.mutablemodules.dl4j.CustomLayers.NamingDense;
import org.mutablemodules.dl4j.CustomLayers.PerExampleLoss;
import org.mutablemodules.dl4j.CustomLayers.ProductPlus;
import org.mutablemodules.dl4j.CustomLayers.ReturnsNull;
import org.mutablemodules.dl4j.CustomLayers.ScaledDense;
import org.mutablemodules.dl4j.CustomLayers.Throwing;
import org.mutablemodules.dl4j.CustomLayers.ThrowingVertex;
import org.mutablemodules.dl4j.CustomLayers.TooWide;
import org.mutablemodules.dl4j.CustomLayers.WeightedMix;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.adapter.SingletonMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Users' own layers beyond {@link LayerParityTest}'s contracts: how their parameters and variables are named, baking
 * back, training, DL4J's doubled gradients through SameDiff layers, and every refusal: layers written in Java, and
 * SameDiff layers whose {@code defineLayer} is broken (an {@link UnsupportedLayerException} naming the layer, its
 * class and what is wrong, with the DL4J network unchanged).
 */
class CustomLayerTest {

    private static final int N = 5;

    private static DenseLayer dense(int nOut) {
        return new DenseLayer.Builder().nOut(nOut).activation(Activation.TANH).build();
    }

    private static OutputLayer mse(int nOut) {
        return new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(nOut).build();
    }

    private static MultiLayerNetwork network(Layer... layers) {
        return Networks.network(DataType.DOUBLE, InputType.feedForward(4), layers);
    }

    private static INDArray x() {
        return Networks.randn(DataType.DOUBLE, 1, N, 4);
    }

    @Test
    void parametersAreNamedAndKeyedLikeEveryLayersAndOwnVariablesLiveInTheLayersScope() {
        // A SameDiff layer does not tell the size of its input: the network's input type does.
        MutableNetwork m = MutableNetwork.of(network(new ScaledDense(4, 3), new NamingDense(3, 3),
                new NamingDense(3, 2), mse(2)), InputType.feedForward(4));
        assertEquals(List.of("0_W", "0_b", "0_s", "1_W", "1_b", "2_W", "2_b", "3_W", "3_b"), m.parameterKeys());
        assertEquals("layer0/s", m.param(0, "s").name());
        assertEquals("layer1/W", m.param("1_W").name());
        assertEquals("layer2/b", m.param("layer2", "b").name());

        SameDiff sd = m.graph().sameDiff();
        for (String layer : new String[] {"layer1", "layer2"}) {
            // sd.constant(name, ...) and sd.var(name, ...) ignore name scopes: the conversion moved them into it.
            assertEquals(VariableType.CONSTANT, sd.getVariable(layer + "/shift").getVariableType());
            // DL4J trains only declared parameters: a variable the layer made itself is a constant here.
            assertEquals(VariableType.CONSTANT, sd.getVariable(layer + "/gain").getVariableType());
        }
        assertFalse(sd.hasVariable("shift"));
        assertFalse(sd.hasVariable("gain"));
        assertFalse(m.graph().isMutable("layer1/gain"));
    }

    @Test
    void aVertexsParametersCarryTheVertexName() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("a", "b")
                .setInputTypes(InputType.feedForward(3), InputType.feedForward(3))
                .addVertex("mix", new WeightedMix(3), "a", "b")
                .addLayer("out", mse(2), "mix")
                .setOutputs("out"));
        MutableNetwork m = MutableNetwork.of(net, InputType.feedForward(3), InputType.feedForward(3));
        assertEquals(List.of("mix_alpha", "out_W", "out_b"), m.parameterKeys());
        assertEquals("mix/alpha", m.param("mix", "alpha").name());
    }

    @Test
    void aMutatedCustomWeightChangesTheOutputAndBakesBackIntoAPlainNetwork() {
        MultiLayerNetwork net = network(new ScaledDense(4, 3), mse(2));
        MutableNetwork m = MutableNetwork.of(net, InputType.feedForward(4));
        m.param(0, "W").muli(0).addi(0.5);
        INDArray x = x();
        INDArray mutated = m.output(x);
        assertTrue(Checks.maxRelativeDifference(net.output(x), mutated) > 1e-3, "the mutation shows in the output");

        MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());
        assertEquals(0.5, baked.getParam("0_W").minNumber().doubleValue(), 0.0);
        assertEquals(0.5, baked.getParam("0_W").maxNumber().doubleValue(), 0.0);
        Checks.assertClose(mutated, baked.output(x), 1e-10, "the baked network computes the mutated graph");
    }

    /**
     * DL4J 1.0.0-M2.1 backpropagates twice the gradient through a SameDiffLayer (into its parameters and everything
     * before it), while the layers after it get the right one: shown against central differences of DL4J's own
     * score. The graph's gradients are those of the score. When DL4J is fixed this test fails, and the parity cases
     * can compare gradients with DL4J's again.
     */
    @Test
    void dl4jDoublesTheGradientThroughASameDiffLayerWhileTheGraphHasTheScoresGradient() {
        MultiLayerNetwork net = network(new ScaledDense(4, 3), mse(2));
        INDArray x = x();
        INDArray y = Networks.randn(DataType.DOUBLE, 2, N, 2);
        Map<String, INDArray> graph = Checks.quietly(() -> MutableNetwork.of(net, InputType.feedForward(4))
                .gradients(x, y));
        Map<String, INDArray> dl4j = Networks.dl4jGradient(net, new INDArray[] {x}, new INDArray[] {y})
                .gradientForVariable();
        for (String key : new String[] {"0_W", "0_s", "1_W"}) {
            INDArray param = net.getParam(key);
            INDArray differences = param.ulike();
            for (long i = 0; i < param.length(); i++) {
                double v = param.getDouble(i);
                param.putScalar(i, v + 1e-6);
                double plus = net.score(new DataSet(x, y), false);
                param.putScalar(i, v - 1e-6);
                double minus = net.score(new DataSet(x, y), false);
                param.putScalar(i, v);
                differences.putScalar(i, (plus - minus) / 2e-6);
            }
            Checks.assertRelativelyClose(differences, graph.get(key), 1e-5, "graph gradient of " + key);
            double dl4jFactor = key.startsWith("0_") ? 2 * N : N;     // N: DL4J's gradients are sums over examples
            Checks.assertRelativelyClose(differences.mul(dl4jFactor), dl4j.get(key), 1e-5, "DL4J gradient of " + key);
        }
    }

    @Test
    void aNetworkEndingInACustomOutputLayerTrainsWithSameDiffsFit() {
        MutableNetwork m = MutableNetwork.of(network(new ScaledDense(4, 5), new MseOutput(5, 2)),
                InputType.feedForward(4));
        INDArray x = x();
        INDArray y = Networks.randn(DataType.DOUBLE, 2, N, 2).muli(0.3);
        SameDiff sd = m.graph().sameDiff();
        INDArray before = m.param(0, "W").initial().getArr().dup();
        double scoreBefore = m.score(x, y);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.1))
                .dataSetFeatureMapping(m.inputName()).dataSetLabelMapping(m.labelName()).build());
        Checks.quietly(() -> sd.fit(new SingletonMultiDataSetIterator(new MultiDataSet(x, y)), 40));
        double scoreAfter = m.score(x, y);
        assertTrue(scoreAfter < 0.5 * scoreBefore, "score " + scoreBefore + " -> " + scoreAfter);
        assertTrue(Checks.maxRelativeDifference(before, m.param(0, "W").initial().getArr()) > 1e-3,
                "the custom layer's weight is trained");
    }

    @Test
    void aLambdaVertexConvertsTwiceAndDl4jStillRunsItAfterwards() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(4))
                .addLayer("d1", dense(3), "in")
                .addLayer("d2", dense(3), "in")
                .addVertex("product", new ProductPlus(), "d1", "d2")
                .addLayer("out", mse(2), "product")
                .setOutputs("out"));
        INDArray x = x();
        INDArray first = MutableNetwork.of(net).output(x);
        INDArray second = MutableNetwork.of(net).output(x);
        Checks.assertClose(first, second, 0.0, "second conversion");
        // SameDiffLambdaVertex caches the inputs of the first graph it is defined on: the conversion uses a copy.
        Checks.assertClose(net.outputSingle(false, x), second, 1e-10, "DL4J after the conversions");
    }

    @Test
    void givenTheInputTypeAFirstCustomLayersOutputShapeIsCheckedToo() {
        MultiLayerNetwork net = network(new TooWide(4, 3), mse(2));
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> MutableNetwork.of(net, InputType.feedForward(4)));
        assertContains(e.getMessage(), "Layer 0 (TooWide)", "shape [2, 5]", "[-1, 3]");
    }

    // ---- refusals ----------------------------------------------------------------------------------------------

    @Test
    void aLayerWrittenInJavaIsRefusedPointingToSameDiffLayer() {
        MultiLayerNetwork net = network(dense(3), new JavaDoubling(), mse(2));
        INDArray x = x();
        INDArray before = net.output(x);     // DL4J runs it
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertContains(e.getMessage(), "Layer 1 (JavaDoubling)", "written in Java", "activate", "backpropGradient",
                "SameDiffLayer", "defineLayer");
        Checks.assertClose(before, net.output(x), 0.0, "DL4J's output after the refusal");
    }

    @Test
    void aVertexWrittenInJavaIsRefusedPointingToSameDiffVertex() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(4))
                .addLayer("d", dense(3), "in")
                .addVertex("double", new JavaDoublingVertex(), "d")
                .addLayer("out", mse(2), "double")
                .setOutputs("out"));
        net.outputSingle(false, x());     // DL4J runs it
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertContains(e.getMessage(), "Vertex \"double\" (JavaDoublingVertex)", "written in Java", "SameDiffVertex",
                "defineVertex");
    }

    @Test
    void aFirstCustomLayerNeedsNoInputTypeAndTheFirstInputFixesTheWidth() {
        MultiLayerNetwork net = network(new ScaledDense(4, 3), mse(2));
        MutableNetwork m = MutableNetwork.of(net);           // no InputType, as DL4J's output needs none
        INDArray x = x();
        INDArray y = Networks.randn(DataType.DOUBLE, 2, N, 2);
        assertThrows(RuntimeException.class, () -> m.output(Networks.randn(DataType.DOUBLE, 3, N, 5)),
                "a first input of the wrong width fails in the layer, and fixes nothing");
        Checks.assertClose(net.output(x), m.output(x), 1e-12, "output");
        assertEquals(Networks.dl4jInferenceScore(net, new INDArray[] {x}, new INDArray[] {y}), m.score(x, y), 1e-12);
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> m.output(Networks.randn(DataType.DOUBLE, 3, N, 5)));
        assertContains(wrong.getMessage(), "Input \"input\"", "[5, 5]", "[N, 4]");
        java.io.ByteArrayOutputStream saved = new java.io.ByteArrayOutputStream();
        try {
            m.save(saved);
            MutableNetwork loaded = MutableNetwork.load(new java.io.ByteArrayInputStream(saved.toByteArray()));
            Checks.assertClose(net.output(x), loaded.output(x), 1e-12, "output after saving and loading");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }

        ComputationGraph graph = Networks.graph(DataType.DOUBLE, b -> b.addInputs("a", "b")
                .setInputTypes(InputType.feedForward(3), InputType.feedForward(3))
                .addVertex("mix", new WeightedMix(3), "a", "b")
                .addLayer("out", mse(2), "mix")
                .setOutputs("out"));
        INDArray a = Networks.randn(DataType.DOUBLE, 4, N, 3);
        INDArray b = Networks.randn(DataType.DOUBLE, 5, N, 3);
        Checks.assertClose(graph.output(a, b)[0], MutableNetwork.of(graph).outputs(a, b)[0], 1e-12,
                "a custom vertex reading the inputs");
    }

    @Test
    void whenNoLayerTellsTheInputsRankTheInputTypeIsAskedFor() {
        MultiLayerNetwork net = network(new ScaledDense(4, 3), new MseOutput(3, 2));
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertContains(e.getMessage(), "network input \"input\" cannot be told", "InputType");
    }

    /** A network holding a broken custom layer, and words the refusal must contain. */
    static Stream<Arguments> brokenLayers() {
        return Stream.of(
                broken("defineLayer throws", () -> network(dense(3), named(new Throwing(3, 2), "broken"), mse(2)),
                        IllegalStateException.class, "Layer 1 (Throwing \"broken\")", "CustomLayers$Throwing",
                        "defineLayer", "IllegalStateException: deliberately broken"),
                broken("defineLayer throws inside a FrozenLayer", () -> network(dense(4),
                        new FrozenLayer(new Throwing(4, 2)), mse(2)), IllegalStateException.class,
                        "Layer 1 (FrozenLayer)", "CustomLayers$Throwing", "deliberately broken"),
                broken("output wider than getOutputType declares", () -> network(dense(4), new TooWide(4, 3), mse(2)),
                        null, "Layer 1 (TooWide)", "shape [2, 5]", "input(s) of shape [2, 4]", "getOutputType",
                        "[-1, 3]"),
                broken("output without the minibatch axis", () -> network(dense(4), new DropsMinibatch(4, 3), mse(2)),
                        null, "Layer 1 (DropsMinibatch)", "shape [3]", "minibatch"),
                broken("defineLayer returns null", () -> network(dense(4), new ReturnsNull(4, 3), mse(2)), null,
                        "Layer 1 (ReturnsNull)", "returned null"),
                broken("a loss per example", () -> network(dense(3), new PerExampleLoss(3, 2)), null,
                        "Layer 1 (PerExampleLoss)", "loss of shape [2]", "scalar"),
                broken("activations that do not exist", () -> network(dense(3), new MissingActivations(3, 2)), null,
                        "Layer 1 (MissingActivations)", "\"prediction\"", "activationsVertexName()"),
                broken("defineVertex throws", () -> Networks.graph(DataType.DOUBLE, b -> b.addInputs("a", "b")
                                .setInputTypes(InputType.feedForward(4), InputType.feedForward(4))
                                .addLayer("da", dense(4), "a")
                                .addLayer("db", dense(4), "b")
                                .addVertex("mix", new ThrowingVertex(4), "da", "db")
                                .addLayer("out", mse(2), "mix")
                                .setOutputs("out")),
                        UnsupportedOperationException.class, "Vertex \"mix\" (ThrowingVertex)", "defineVertex",
                        "not today"));
    }

    private static Arguments broken(String name, Supplier<Model> network,
                                    Class<? extends Throwable> cause, String... messageParts) {
        return Arguments.of(name, network, cause, List.of(messageParts));
    }

    private static Layer named(Layer layer, String name) {
        layer.setLayerName(name);
        return layer;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenLayers")
    void aBrokenCustomLayerIsRefusedNamingItAndTheNetworkIsUnchanged(String name,
                                                                    Supplier<Model> network,
                                                                    Class<? extends Throwable> cause,
                                                                    List<String> parts) {
        Model net = network.get();
        INDArray params = net.params().dup();
        String configuration = configurationOf(net);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> Networks.convert(net, -1));
        assertContains(e.getMessage(), parts.toArray(new String[0]));
        if (cause == null) {
            assertNull(e.getCause(), "no cause expected");
        } else {
            assertInstanceOf(cause, e.getCause(), "the layer's own exception is the cause");
        }
        assertEquals(params, net.params(), "parameters after the refusal");
        assertEquals(configuration, configurationOf(net), "configuration after the refusal");
    }

    private static String configurationOf(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) net).getConfiguration().toJson();
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message should contain " + part + ": " + message);
        }
    }
}
