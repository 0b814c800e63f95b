package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.rnn.ReverseTimeSeriesVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.Test;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.adapter.SingletonMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** The {@code ComputationGraph} entry points: names, keys, bake-back, training through a hypernetwork, bad input. */
class ComputationGraphTest {

    /** Two inputs merged, a trunk, two output layers and a plain dense output. */
    private static ComputationGraph twoHeads(DataType type) {
        return Networks.graph(type, b -> b.addInputs("features", "context")
                .setInputTypes(InputType.feedForward(3), InputType.feedForward(2))
                .addVertex("merge", new MergeVertex(), "features", "context")
                .addLayer("trunk", new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build(), "merge")
                .addLayer("value", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(1)
                        .build(), "trunk")
                .addLayer("policy", new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX)
                        .nOut(4).build(), "trunk")
                .setOutputs("value", "policy"));
    }

    private static INDArray[] inputs(DataType type, int n) {
        return new INDArray[] {Networks.randn(type, 1, n, 3), Networks.randn(type, 2, n, 2)};
    }

    private static INDArray[] labels(DataType type, int n) {
        return new INDArray[] {Networks.randn(type, 3, n, 1), Networks.oneHot(type, 4, n, 4)};
    }

    @Test
    void anFOrderReshapeVertexSurvivesBakingWhichDl4jsCloneWouldNot() {
        // DL4J 1.0.0-M2.1's ReshapeVertex.clone() drops the order: a baked copy made by clone() reshapes in 'c'.
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(4))
                .addLayer("d", new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build(), "in")
                .addVertex("grid", new org.deeplearning4j.nn.conf.graph.ReshapeVertex('f', new int[] {-1, 2, 3},
                        null), "d")
                .addVertex("flat", new org.deeplearning4j.nn.conf.graph.ReshapeVertex('c', new int[] {-1, 6}, null),
                        "grid")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "flat")
                .setOutputs("out"));
        INDArray x = Networks.randn(DataType.DOUBLE, 3, 5, 4);
        MutableNetwork m = MutableNetwork.of(net);
        INDArray expected = net.outputSingle(x);
        Checks.assertClose(expected, m.toComputationGraph(Map.of()).outputSingle(x), 1e-12, "baked");
        Checks.assertClose(expected, m.output(x), 1e-12, "converted");
    }

    @Test
    void aMergeOfNwcSeriesSurvivesBakingWhichDl4jsCloneWouldNot() {
        // DL4J 1.0.0-M2.1's MergeVertex.clone() drops the merge axis (2 for NWC series): a baked copy made by clone()
        // merges along the time axis
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.recurrent(3, org.deeplearning4j.nn.conf.RNNFormat.NWC))
                .addLayer("a", new org.deeplearning4j.nn.conf.layers.LSTM.Builder().nOut(3)
                        .dataFormat(org.deeplearning4j.nn.conf.RNNFormat.NWC).build(), "in")
                .addLayer("b", new org.deeplearning4j.nn.conf.layers.LSTM.Builder().nOut(2)
                        .dataFormat(org.deeplearning4j.nn.conf.RNNFormat.NWC).build(), "in")
                .addVertex("merge", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "a", "b")
                .addLayer("out", new org.deeplearning4j.nn.conf.layers.RnnOutputLayer.Builder(LossFunction.MSE)
                        .activation(Activation.IDENTITY).nOut(2)
                        .dataFormat(org.deeplearning4j.nn.conf.RNNFormat.NWC).build(), "merge")
                .setOutputs("out"));
        INDArray x = Networks.randn(DataType.DOUBLE, 3, 4, 5, 3);
        MutableNetwork m = MutableNetwork.of(net);
        INDArray expected = net.outputSingle(x);
        Checks.assertClose(expected, m.toComputationGraph(Map.of()).outputSingle(x), 1e-12, "baked");
        Checks.assertClose(expected, m.output(x), 1e-12, "converted");
    }

    @Test
    void placeholdersOutputsAndKeysAreNamedAfterTheGraph() {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT));
        assertTrue(m.isComputationGraph());
        assertEquals(List.of("features", "context"), m.inputNames());
        assertEquals(List.of("value", "policy"), m.outputNames());
        assertEquals(List.of("value/labels", "policy/labels"), m.labelNames());
        assertEquals("loss", m.lossName());
        assertEquals(List.of("trunk_W", "trunk_b", "value_W", "value_b", "policy_W", "policy_b"), m.parameterKeys());
        assertEquals("trunk/W", m.param("trunk", "W").name());
        assertEquals(m.param("trunk", "W"), m.param("trunk_W"));
        SameDiff sd = m.graph().sameDiff();
        for (String name : List.of("features", "context", "value/labels", "policy/labels")) {
            assertEquals(org.nd4j.autodiff.samediff.VariableType.PLACEHOLDER, sd.getVariable(name).getVariableType());
        }
        assertEquals(List.of("loss"), sd.getLossVariables());
        assertThrows(IllegalStateException.class, m::inputName, "two inputs");
        assertThrows(IllegalStateException.class, m::outputName, "two outputs");
        assertThrows(IllegalStateException.class, m::labelName, "two outputs");
    }

    @Test
    void theScoreIsTheSumOfTheOutputLayersScores() {
        ComputationGraph net = twoHeads(DataType.DOUBLE);
        MutableNetwork m = MutableNetwork.of(net);
        INDArray[] x = inputs(DataType.DOUBLE, 6);
        INDArray[] y = labels(DataType.DOUBLE, 6);
        SameDiff sd = m.graph().sameDiff();
        Map<String, INDArray> feed = Map.of("features", x[0], "context", x[1], "value/labels", y[0],
                "policy/labels", y[1]);
        double value = sd.output(feed, "value/loss").get("value/loss").getDouble(0);
        double policy = sd.output(feed, "policy/loss").get("policy/loss").getDouble(0);
        assertEquals(value + policy, m.score(x, y), 1e-12);
        assertEquals(Networks.dl4jInferenceScore(net, x, y), m.score(x, y), 1e-10);
        assertTrue(value > 0 && policy > 0);
    }

    @Test
    void anOutputThatIsNotAnOutputLayerHasNoLabels() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(3))
                .addLayer("embedding", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "embedding")
                .setOutputs("out", "embedding"));
        MutableNetwork m = MutableNetwork.of(net);
        assertEquals(Arrays.asList("out/labels", null), m.labelNames());
        INDArray x = Networks.randn(DataType.DOUBLE, 1, 5, 3);
        INDArray y = Networks.randn(DataType.DOUBLE, 2, 5, 2);
        INDArray[] expected = net.output(false, x);
        INDArray[] actual = m.outputs(x);
        Checks.assertClose(expected[0], actual[0], 1e-12, "out");
        Checks.assertClose(expected[1], actual[1], 1e-12, "embedding");
        // DL4J cannot score a graph with an output that has no labels; its MSE is computed from its output.
        double mse = expected[0].sub(y).muli(expected[0].sub(y)).sumNumber().doubleValue() / (5 * 2);
        assertEquals(mse, m.score(new INDArray[] {x}, new INDArray[] {y, null}), 1e-12);
    }

    @Test
    void aHypernetworkTrainsThroughAConvertedGraphAndTheBakedGraphReproducesIt() {
        ComputationGraph net = twoHeads(DataType.FLOAT);
        INDArray before = net.params().dup();
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        // A hypernetwork maps a task descriptor to the trunk's weights and bias.
        SDVariable task = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        long size = m.graph().flatSize("trunk/W", "trunk/b");
        SDVariable hidden = sd.math().tanh(task.mmul(sd.var("hyper/W1", Networks.randn(DataType.FLOAT, 7, 2, 16).muli(0.5))));
        SDVariable flat = hidden.mmul(sd.var("hyper/W2", Networks.randn(DataType.FLOAT, 8, 16, size).muli(0.1)))
                .add(sd.var("hyper/b2", Networks.randn(DataType.FLOAT, 9, size).muli(0.3)));
        m.graph().setFromFlat(flat, "trunk/W", "trunk/b");

        INDArray[] x = inputs(DataType.FLOAT, 32);
        INDArray[] y = labels(DataType.FLOAT, 32);
        INDArray taskValue = Nd4j.createFromArray(new float[][] {{0.5f, -1f}});
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.02))
                .dataSetFeatureMapping("features", "context", "task")
                .dataSetLabelMapping("value/labels", "policy/labels").build());
        Map<String, INDArray> feed = Map.of("features", x[0], "context", x[1], "task", taskValue,
                "value/labels", y[0], "policy/labels", y[1]);
        double first = sd.output(feed, "loss").get("loss").getDouble(0);
        MultiDataSet data = new MultiDataSet(new INDArray[] {x[0], x[1], taskValue}, y);
        Checks.quietly(() -> sd.fit(new SingletonMultiDataSetIterator(data), 200));
        double last = sd.output(feed, "loss").get("loss").getDouble(0);
        assertTrue(last < first / 3, "loss must fall at least 3x: " + first + " -> " + last);

        ComputationGraph baked = m.toComputationGraph(Map.of("task", taskValue));
        INDArray[] graphOut = m.outputs(x, Map.of("task", taskValue));
        INDArray[] bakedOut = baked.output(false, x);
        for (int i = 0; i < 2; i++) {
            Checks.assertClose(graphOut[i], bakedOut[i], 1e-5, "baked output " + i);
        }
        assertEquals(before, net.params(), "the source graph must not change");
        assertNotEquals(net.output(false, x)[1], bakedOut[1]);
        assertThrows(IllegalStateException.class, () -> m.toMultiLayerNetwork(Map.of()));
    }

    @Test
    void frozenLayersOfTransferLearningStayFrozenAndSoDoesTheBakedGraph() {
        ComputationGraph source = Networks.graph(DataType.FLOAT, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(3))
                .addLayer("a", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "in")
                .addVertex("merge", new MergeVertex(), "a", "b")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "merge")
                .setOutputs("out"));
        ComputationGraph net = new TransferLearning.GraphBuilder(source).setFeatureExtractor("merge").build();
        MutableNetwork m = MutableNetwork.of(net);
        INDArray x = Networks.randn(DataType.FLOAT, 1, 5, 3);
        Checks.assertClose(net.output(false, x)[0], m.output(x), 1e-6, "transfer-learned graph");

        MutableParameter frozen = m.param("a", "W");
        INDArray initial = frozen.initial().getArr().dup();
        SameDiff sd = m.graph().sameDiff();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.1))
                .dataSetFeatureMapping("in").dataSetLabelMapping("out/labels").build());
        Checks.quietly(() -> sd.fit(new MultiDataSet(x, Networks.randn(DataType.FLOAT, 2, 5, 2))));
        assertEquals(initial, frozen.initial().getArr(), "frozen weights are not trained");
        assertNotEquals(net.getParam("out_W"), m.param("out", "W").initial().getArr(), "the head is trained");

        ComputationGraph baked = m.toComputationGraph(Map.of());
        org.deeplearning4j.nn.conf.graph.LayerVertex a =
                (org.deeplearning4j.nn.conf.graph.LayerVertex) baked.getConfiguration().getVertices().get("a");
        assertInstanceOf(FrozenLayer.class, a.getLayerConf().getLayer(), "still frozen after baking");
        Checks.assertClose(m.output(x), baked.output(false, x)[0], 1e-6, "baked");
    }

    @Test
    void theWrongNumberOfInputsOrLabelsIsNamedAndNothingRuns() {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT));
        INDArray[] x = inputs(DataType.FLOAT, 4);
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class, () -> m.outputs(x[0]));
        assertTrue(one.getMessage().contains("Got 1 input array(s)") && one.getMessage().contains("[features, context]"),
                one.getMessage());
        IllegalArgumentException labels = assertThrows(IllegalArgumentException.class,
                () -> m.score(x, new INDArray[] {Networks.randn(DataType.FLOAT, 3, 4, 1)}));
        assertTrue(labels.getMessage().contains("Got 1 labels array(s)") && labels.getMessage().contains("[value, policy]"),
                labels.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> m.gradients(x, new INDArray[] {Networks.randn(DataType.FLOAT, 3, 4, 1), null}));
        assertTrue(missing.getMessage().contains("policy"), missing.getMessage());
        IllegalArgumentException nullInput = assertThrows(IllegalArgumentException.class,
                () -> m.outputs(x[0], null));
        assertTrue(nullInput.getMessage().contains("context"), nullInput.getMessage());
        assertEquals(2, m.outputs(x).length, "still works afterwards");
    }

    @Test
    void anUnknownLayerNameListsTheKnownOnes() {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.param("tronk", "W"));
        assertTrue(e.getMessage().contains("\"tronk\"") && e.getMessage().contains("trunk"), e.getMessage());
        IllegalArgumentException key = assertThrows(IllegalArgumentException.class, () -> m.param("trunk", "RW"));
        assertTrue(key.getMessage().contains("trunk_RW") && key.getMessage().contains("trunk_W"), key.getMessage());
    }

    @Test
    void anUninitialisedGraphIsRejected() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nIn(3)
                        .nOut(1).build(), "in")
                .setOutputs("out").build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().contains("net.init()"), e.getMessage());
    }

    @Test
    void anUnsupportedVertexIsNamedAndTheGraphIsUnchanged() {
        ComputationGraph net = Networks.graph(DataType.FLOAT, b -> b.addInputs("seq")
                .setInputTypes(InputType.recurrent(3))
                .addLayer("lstm", new LSTM.Builder().nOut(4).build(), "seq")
                .addVertex("reversed", new ReverseTimeSeriesVertex("seq"), "lstm")
                .addLayer("out", new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "reversed")
                .setOutputs("out"));
        INDArray before = net.params().dup();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().startsWith("Vertex \"reversed\" (ReverseTimeSeriesVertex)"), e.getMessage());
        assertTrue(e.getMessage().contains("MergeVertex") && e.getMessage().contains("ElementWiseVertex"), e.getMessage());
        assertEquals(before, net.params());
    }

    @Test
    void aLayerInsideAGraphIsNamedByItsVertex() {
        ComputationGraph net = Networks.graph(DataType.FLOAT, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(3))
                .addLayer("hidden", new DenseLayer.Builder().nOut(4).activation(Activation.THRESHOLDEDRELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "hidden")
                .setOutputs("out"));
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().startsWith("Vertex \"hidden\" (DenseLayer)"), e.getMessage());
    }

    @Test
    void outputsOfASingleInputGraphAcceptOneArray() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("in")
                .setInputTypes(InputType.feedForward(3))
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "in")
                .setOutputs("out"));
        MutableNetwork m = MutableNetwork.of(net);
        INDArray x = Networks.randn(DataType.DOUBLE, 1, 4, 3);
        assertArrayEquals(new long[] {4, 2}, m.output(x).shape());
        Checks.assertClose(net.outputSingle(false, x), m.output(x), 1e-12, "single");
        assertEquals("out/labels", m.labelName());
    }

    @Test
    void aConvertedGraphSavesAndLoadsWithItsOutputs(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.DOUBLE));
        m.param("trunk", "W").muli(0.5);
        INDArray[] x = inputs(DataType.DOUBLE, 3);
        java.io.File file = dir.resolve("graph.sd").toFile();
        m.graph().sameDiff().save(file, true);
        SameDiff loaded = SameDiff.load(file, true);
        Map<String, INDArray> out = loaded.output(Map.of("features", x[0], "context", x[1]), "value", "policy");
        INDArray[] expected = m.outputs(x);
        Checks.assertClose(expected[0], out.get("value"), 1e-12, "value");
        Checks.assertClose(expected[1], out.get("policy"), 1e-12, "policy");
    }

    @Test
    void inputTypesShapeTheInputsWhereTheLayersDoNotTell() {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("seq")
                .addLayer("pool", new org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.PoolingType.MAX).build(), "seq")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nIn(3)
                        .nOut(2).build(), "pool")
                .setOutputs("out"));
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().contains("\"seq\"") && e.getMessage().contains("InputType"), e.getMessage());

        MutableNetwork m = MutableNetwork.of(net, InputType.recurrent(3, 5));
        assertArrayEquals(new long[] {-1, 3, 5}, m.graph().sameDiff().getVariable("seq").placeholderShape());
        INDArray x = Networks.randn(DataType.DOUBLE, 1, 4, 3, 5);
        Checks.assertClose(net.outputSingle(false, x), m.output(x), 1e-12, "global max over time");
        IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                () -> MutableNetwork.of(net, InputType.recurrent(3), InputType.feedForward(2)));
        assertTrue(count.getMessage().contains("[seq]"), count.getMessage());
    }

    @Test
    void anInputReadThroughAMergeKeepsOnlyItsRank() {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT));
        // "features" (3 wide) is merged with "context" (2 wide) before the trunk, whose nIn is 5.
        assertArrayEquals(new long[] {-1, -1}, m.graph().sameDiff().getVariable("features").placeholderShape());
    }

    @Test
    void aGraphsLayersAreNamedNotNumbered() {
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.param(0, "W"));
        assertTrue(e.getMessage().contains("param(layerName, key)"), e.getMessage());
    }

    @Test
    void assigningAParametersArrayCopiesItAndReachesTheGradients() {
        ComputationGraph net = twoHeads(DataType.DOUBLE);
        MutableNetwork m = MutableNetwork.of(net);
        INDArray[] x = inputs(DataType.DOUBLE, 4);
        INDArray[] y = labels(DataType.DOUBLE, 4);
        Checks.quietly(() -> m.gradients(x, y));          // builds and caches SameDiff's gradient function
        INDArray replacement = Networks.randn(DataType.DOUBLE, 40, 5, 6);
        m.graph().sameDiff().assignArray(replacement, m.param("trunk", "W").initial());
        INDArray before = m.outputs(x)[1];
        replacement.assign(0.0);                            // the graph holds a copy, not the caller's array
        Checks.assertClose(before, m.outputs(x)[1], 0.0, "output after the caller changed its array");

        net.getParam("trunk_W").assign(Networks.randn(DataType.DOUBLE, 40, 5, 6));
        Map<String, INDArray> expected = Checks.quietly(() -> MutableNetwork.of(net).gradients(x, y));
        Map<String, INDArray> actual = Checks.quietly(() -> m.gradients(x, y));
        Checks.assertClose(expected.get("trunk_W"), actual.get("trunk_W"), 1e-12, "gradient after assignArray");
        Checks.assertClose(expected.get("policy_W"), actual.get("policy_W"), 1e-12, "gradient after assignArray");
    }

    @Test
    void wrongShapesAreNamedBeforeAnyNativeCodeRunsAndTheNetworkStillWorks() {
        // Merged before the trunk, the inputs' widths are told only by their input types.
        MutableNetwork m = MutableNetwork.of(twoHeads(DataType.FLOAT), InputType.feedForward(3),
                InputType.feedForward(2));
        INDArray[] x = inputs(DataType.FLOAT, 4);
        INDArray[] y = labels(DataType.FLOAT, 4);
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                () -> m.outputs(Networks.randn(DataType.FLOAT, 1, 4, 7), x[1]));
        assertTrue(width.getMessage().contains("Input \"features\" has shape [4, 7]")
                && width.getMessage().contains("expects [N, 3]"), width.getMessage());
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> m.outputs(x[0], Networks.randn(DataType.FLOAT, 1, 4, 2, 1)));
        assertTrue(rank.getMessage().contains("Input \"context\" has shape [4, 2, 1]"), rank.getMessage());
        IllegalArgumentException labelWidth = assertThrows(IllegalArgumentException.class,
                () -> m.score(x, new INDArray[] {y[0], Networks.randn(DataType.FLOAT, 1, 4, 3)}));
        assertTrue(labelWidth.getMessage().contains("The array of labels for output \"policy\" has shape [4, 3]")
                && labelWidth.getMessage().contains("expects [N, 4]"), labelWidth.getMessage());
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> m.gradients(x, new INDArray[] {y[0], Networks.oneHot(DataType.FLOAT, 4, 3, 4)}));
        assertTrue(rows.getMessage().contains("have 3 rows") && rows.getMessage().contains("4 examples"),
                rows.getMessage());
        // DOUBLE inputs to a FLOAT network are cast, as DL4J casts them.
        INDArray[] doubles = {x[0].castTo(DataType.DOUBLE), x[1].castTo(DataType.DOUBLE)};
        Checks.assertClose(m.outputs(x)[1], m.outputs(doubles)[1], 0.0, "cast inputs");
        assertEquals(m.score(x, y), m.score(doubles, y), 0.0);
    }
}
