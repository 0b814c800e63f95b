package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.layers.LayerConstraint;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.constraint.MaxNormConstraint;
import org.deeplearning4j.nn.conf.constraint.MinMaxNormConstraint;
import org.deeplearning4j.nn.conf.constraint.NonNegativeConstraint;
import org.deeplearning4j.nn.conf.constraint.UnitNormConstraint;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.deeplearning4j.optimize.listeners.PerformanceListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.ROCMultiClass;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

/**
 * {@link MutableNetwork}'s DL4J-style training beyond single steps: epochs and epoch schedules, listeners, evaluation,
 * constraints, mutated parameters, saving the training state, and the settings it refuses by name.
 */
class MutableNetworkTrainingTest {

    private static final int N = 8;

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).weightInit(WeightInit.XAVIER);
    }

    /** A classifier whose learning rate falls per epoch, with L2 and gradient clipping. */
    private static MultiLayerNetwork classifier() {
        MultiLayerConfiguration conf = base()
                .updater(new Nesterovs(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.5, 1), 0.9)).l2(1e-3)
                .gradientNormalization(GradientNormalization.ClipL2PerLayer).gradientNormalizationThreshold(1.0)
                .list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static List<DataSet> batches(int count, long seed) {
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            INDArray x = Networks.randn(DataType.DOUBLE, seed + i, N, 4);
            batches.add(new DataSet(x, Networks.oneHot(DataType.DOUBLE, seed + 100 + i, N, 3)));
        }
        return batches;
    }

    /** The batches, one per step (ListDataSetIterator merges as many list elements as its batch size). */
    private static ListDataSetIterator<DataSet> list(List<DataSet> batches) {
        return new ListDataSetIterator<>(batches, 1);
    }

    private static void quietly(Runnable r) {
        Checks.quietly(() -> {
            r.run();
            return null;
        });
    }

    /**
     * DL4J's score leaves out the regularisation of its SameDiff-based layers (their implementation's
     * {@code calcRegularizationScore} is 0) though it trains with it: the score and the first step's score a listener
     * hears equal DL4J's, and the dense layer's regularisation is still in both.
     */
    @Test
    void theScoreLeavesOutTheRegularisationOfSameDiffBasedLayersAsDl4jDoes() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(12)
                .dataType(DataType.DOUBLE).updater(new Sgd(0.1)).l2(0.3).list()
                .layer(new LocallyConnected1D.Builder().nIn(3).nOut(4).kernelSize(2)
                        .stride(1).activation(Activation.TANH).setInputSize(5).build())
                .layer(new GlobalPoolingLayer.Builder().build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY)
                        .build())
                .setInputType(InputType.recurrent(3, 5)).build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        Nd4j.getRandom().setSeed(13);
        DataSet d = new DataSet(Nd4j.rand(DataType.DOUBLE, 6, 3, 5), Nd4j.rand(DataType.DOUBLE, 6, 2));
        double dl4j = net.score(d);
        assertEquals(dl4j, m.score(d), 1e-10, "score");
        double unregularised = m.graph().output(Map.of(m.inputName(), d.getFeatures(), m.labelName(), d.getLabels()),
                m.lossName()).get(m.lossName()).getDouble(0);
        assertTrue(dl4j - unregularised > 1e-3, "the output layer's l2 is in the score: " + (dl4j - unregularised));
        CollectScoresListener dl4jScores = new CollectScoresListener(1);
        CollectScoresListener ourScores = new CollectScoresListener(1);
        net.setListeners(dl4jScores);
        m.setListeners(ourScores);
        quietly(() -> net.fit(d));
        quietly(() -> m.fit(d));
        assertEquals(dl4jScores.getListScore().getDouble(0), ourScores.getListScore().getDouble(0), 1e-10,
                "the first step's score a listener hears");
    }

    @Test
    void epochsOverAnIteratorTrainAsDl4jWithAnEpochScheduleAndTheListenersHearEveryStep() {
        MultiLayerNetwork net = classifier();
        MutableNetwork m = MutableNetwork.of(net);
        List<DataSet> data = batches(3, 1);
        CollectScoresListener dl4jScores = new CollectScoresListener(1);
        CollectScoresListener ourScores = new CollectScoresListener(1);
        List<String> events = new ArrayList<>();
        net.setListeners(dl4jScores);
        m.setListeners(ourScores, new ScoreIterationListener(1), new PerformanceListener(1, true));
        m.addListeners(new BaseTrainingListener() {
            @Override
            public void onEpochStart(org.deeplearning4j.nn.api.Model model) {
                events.add("start");
            }

            @Override
            public void onEpochEnd(org.deeplearning4j.nn.api.Model model) {
                events.add("end");
            }
        });
        quietly(() -> net.fit(list(data), 3));
        quietly(() -> m.fit(list(data), 3));

        assertEquals(9, m.iterationCount());
        assertEquals(3, m.epochCount());
        assertEquals(net.getEpochCount(), m.epochCount());
        assertEquals(List.of("start", "end", "start", "end", "start", "end"), events);
        assertEquals(4, m.getListeners().size());
        net.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value,
                m.toMultiLayerNetwork(Map.of()).getParam(key), 1e-9, key));
        assertEquals(dl4jScores.getListIteration(), ourScores.getListIteration());
        for (int i = 0; i < 9; i++) {
            assertEquals(dl4jScores.getListScore().getDouble(i), ourScores.getListScore().getDouble(i), 1e-10,
                    "score of step " + i);
        }
        assertEquals(net.score(), m.score(), 1e-10);
        // The epoch schedule mattered: one rate throughout would end elsewhere.
        MultiLayerNetwork constant = classifier();
        constant.getLayerWiseConfigurations().getConfs().forEach(c -> ((org.deeplearning4j.nn.conf.layers.BaseLayer)
                c.getLayer()).setIUpdater(new Nesterovs(0.1, 0.9)));
        quietly(() -> constant.fit(list(data), 3));
        assertFalse(constant.params().equalsWithEps(net.params(), 1e-6));
    }

    @Test
    void aComputationGraphFitsOverAMultiDataSetIteratorAsDl4j() {
        ComputationGraphConfiguration conf = base().updater(new Adam(0.02)).l1(1e-3).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.RELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out").build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        List<DataSet> data = batches(2, 20);
        quietly(() -> net.fit(list(data), 2));
        quietly(() -> m.fit(new org.nd4j.linalg.dataset.adapter.MultiDataSetIteratorAdapter(
                list(data)), 2));
        net.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value,
                m.toComputationGraph(Map.of()).getParam(key), 1e-9, key));
        assertEquals(net.score(), m.score(), 1e-10);
        assertEquals(2, m.epochCount());
        // the baked graph goes on with fit's Adam moments and counts, as the graph DL4J trained throughout
        ComputationGraph baked = m.toComputationGraph(Map.of());
        assertEquals(net.getIterationCount(), baked.getIterationCount());
        DataSet next = batches(1, 77).get(0);
        quietly(() -> net.fit(next));
        quietly(() -> baked.fit(next));
        net.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value, baked.getParam(key), 1e-9,
                key + " after a DL4J step on the baked graph"));
    }

    @Test
    void evaluationsEqualDl4jsOwn() {
        MultiLayerNetwork net = classifier();
        quietly(() -> net.fit(list(batches(3, 1)), 2));
        MutableNetwork m = MutableNetwork.of(net);
        List<DataSet> test = batches(4, 50);
        Evaluation expected = net.evaluate(list(test));
        Evaluation actual = m.evaluate(list(test));
        assertEquals(expected.getConfusionMatrix().toCSV(), actual.getConfusionMatrix().toCSV());
        assertEquals(expected.accuracy(), actual.accuracy(), 0);
        assertEquals(expected.stats(), actual.stats());
        assertEquals(32, actual.getNumRowCounter(), 0);

        ROCMultiClass[] rocs = m.doEvaluation(list(test), new ROCMultiClass());
        ROCMultiClass dl4jRoc = net.doEvaluation(list(test), new ROCMultiClass())[0];
        assertEquals(dl4jRoc.calculateAverageAUC(), rocs[0].calculateAverageAUC(), 1e-12);

        MultiLayerNetwork regression = new MultiLayerNetwork(base().updater(new Sgd(0.1)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .build());
        regression.init();
        List<DataSet> values = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            values.add(new DataSet(Networks.randn(DataType.DOUBLE, 70 + i, N, 4),
                    Networks.randn(DataType.DOUBLE, 80 + i, N, 2)));
        }
        RegressionEvaluation dl4j = regression.evaluateRegression(
                list(values));
        RegressionEvaluation ours = MutableNetwork.of(regression).evaluateRegression(
                list(values));
        for (int column = 0; column < 2; column++) {
            assertEquals(dl4j.meanSquaredError(column), ours.meanSquaredError(column), 1e-12);
            assertEquals(dl4j.correlationR2(column), ours.correlationR2(column), 1e-12);
        }
    }

    static Stream<Arguments> constraints() {
        return Stream.of(
                Arguments.of("max norm 0.5 on the weights", (Function<DenseLayer.Builder, DenseLayer.Builder>)
                        b -> b.constrainWeights(new MaxNormConstraint(0.5, 1))),
                Arguments.of("non-negative weights and biases", (Function<DenseLayer.Builder, DenseLayer.Builder>)
                        b -> b.constrainAllParameters(new NonNegativeConstraint())),
                Arguments.of("min-max norm 0.2..0.4 at rate 0.5 (applied twice, as DL4J does)",
                        (Function<DenseLayer.Builder, DenseLayer.Builder>)
                                b -> b.constrainWeights(new MinMaxNormConstraint(0.2, 0.4, 0.5, 1))),
                Arguments.of("unit norm on the biases", (Function<DenseLayer.Builder, DenseLayer.Builder>)
                        b -> b.constrainBias(new UnitNormConstraint(0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("constraints")
    void constraintsHoldAfterEachStepAsInDl4j(String name, Function<DenseLayer.Builder, DenseLayer.Builder> c) {
        MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Adam(0.05)).list()
                .layer(c.apply(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.TANH)).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        for (DataSet d : batches(4, 5)) {
            quietly(() -> net.fit(d));
            m.fit(d);
        }
        MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());
        net.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value, baked.getParam(key), 1e-9, key));
        List<LayerConstraint> declared = net.getLayerWiseConfigurations().getConf(0).getLayer().getConstraints();
        assertFalse(declared.isEmpty(), name);
        INDArray w = baked.getParam("0_W");
        if (name.startsWith("max norm")) {
            assertTrue(w.norm2(1).maxNumber().doubleValue() <= 0.5 + 1e-12, "rows within norm 0.5");
        } else if (name.startsWith("non-negative")) {
            assertTrue(w.minNumber().doubleValue() >= 0 && baked.getParam("0_b").minNumber().doubleValue() >= 0);
        }
    }

    @Test
    void aMutatedParameterTrainsTheVariableFeedingItWithItsLayersSettings() {
        MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Adam(0.01)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).updater(new Sgd(0.3))
                        .l2(0.2).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        SDVariable h = m.graph().sameDiff().var("h", Nd4j.rand(DataType.DOUBLE, 4, 5).subi(0.5));
        m.param(0, "W").set(h.mul(3.0));
        INDArray before = h.getArr().dup();
        DataSet d = new DataSet(Networks.randn(DataType.DOUBLE, 3, N, 4), Networks.randn(DataType.DOUBLE, 4, N, 2));
        INDArray gradient = m.graph().gradients(Map.of("input", d.getFeatures(), "labels", d.getLabels()), "h")
                .get("h");
        m.fit(d);
        // SGD at 0.3 on the gradient plus W's L2 term, on h: the settings of the parameter h now produces.
        INDArray expected = before.sub(gradient.add(before.mul(0.2)).mul(0.3));
        Checks.assertRelativelyClose(expected, h.getArr(), 1e-12, "h");
    }

    /** A network DL4J has trained for a while: Adam (stateful) with a learning rate falling per iteration. */
    private static MultiLayerNetwork adamClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(base()
                .updater(new Adam(new org.nd4j.linalg.schedule.StepSchedule(ScheduleType.ITERATION, 0.05, 0.5, 2)))
                .l2(1e-3).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.TANH).biasUpdater(new Sgd(0.1))
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    @Test
    void fitGoesOnWhereDl4jsTrainingStoppedAndTheBakedNetworkGoesOnWhereFitStopped() {
        List<DataSet> data = batches(6, 40);
        MultiLayerNetwork reference = adamClassifier();
        MultiLayerNetwork trained = adamClassifier();
        for (int i = 0; i < 3; i++) {
            DataSet d = data.get(i);
            quietly(() -> reference.fit(d));
            quietly(() -> trained.fit(d));
        }
        MutableNetwork m = MutableNetwork.of(trained);         // at iteration 3, with Adam's moments
        for (int i = 3; i < 5; i++) {
            DataSet d = data.get(i);
            quietly(() -> reference.fit(d));
            m.fit(d);
        }
        assertEquals(5, m.iterationCount());
        MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());
        reference.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value, baked.getParam(key), 1e-9,
                key + " after two fit steps that went on from DL4J's three"));
        assertEquals(5, baked.getIterationCount());
        quietly(() -> reference.fit(data.get(5)));
        quietly(() -> baked.fit(data.get(5)));
        reference.paramTable().forEach((key, value) -> Checks.assertRelativelyClose(value, baked.getParam(key), 1e-9,
                key + " after DL4J's step on the baked network, with fit's updater state"));

        // Fresh state would be another trajectory: the moments matter.
        MultiLayerNetwork fresh = adamClassifier();
        MutableNetwork restarted = MutableNetwork.of(fresh);
        restarted.fit(data.get(0));
        assertEquals(1, restarted.iterationCount());
        assertFalse(restarted.toMultiLayerNetwork(Map.of()).params().equalsWithEps(baked.params(), 1e-3));
    }

    @Test
    void aSavedNetworkGoesOnTrainingFromWhereItStopped() throws IOException {
        List<DataSet> data = batches(3, 9);
        MutableNetwork straight = MutableNetwork.of(classifier());
        data.forEach(straight::fit);

        MutableNetwork first = MutableNetwork.of(classifier());
        first.fit(data.get(0));
        first.fit(data.get(1));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        first.save(out);
        MutableNetwork loaded = MutableNetwork.load(new ByteArrayInputStream(out.toByteArray()));
        loaded.fit(data.get(2));
        assertEquals(3, loaded.iterationCount(), "the counts go on from the saved ones");
        straight.toMultiLayerNetwork(Map.of()).paramTable().forEach((key, value) -> assertEquals(value,
                loaded.toMultiLayerNetwork(Map.of()).getParam(key), key + " as if never saved"));
    }

    static Stream<Arguments> refusedConfigurations() {
        return Stream.of(
                Arguments.of("dropout", (java.util.function.Supplier<MultiLayerNetwork>) () -> network(
                        new DenseLayer.Builder().nIn(4).nOut(5).dropOut(0.5).build()), "layer 0 (DenseLayer)"),
                Arguments.of("batch statistics", (java.util.function.Supplier<MultiLayerNetwork>) () -> network(
                        new BatchNormalization.Builder().nIn(4).nOut(4).build()), "layer 0 (BatchNormalization)"),
                Arguments.of("its own rule (alpha)", (java.util.function.Supplier<MultiLayerNetwork>) () -> {
                    MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Sgd(0.1)).list()
                            .layer(new CenterLossOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3)
                                    .activation(Activation.SOFTMAX).build()).build());
                    net.init();
                    return net;
                }, "layer 0 (CenterLossOutputLayer)"),
                Arguments.of("TruncatedBPTT", (java.util.function.Supplier<MultiLayerNetwork>) () -> {
                    MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Sgd(0.1)).list()
                            .layer(new LSTM.Builder().nIn(4).nOut(3).build())
                            .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nOut(3)
                                    .activation(Activation.IDENTITY).build())
                            .backpropType(BackpropType.TruncatedBPTT).tBPTTLength(2).build());
                    net.init();
                    return net;
                }, "truncated backpropagation"),
                Arguments.of("dropout", (java.util.function.Supplier<MultiLayerNetwork>) () -> {
                    MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Sgd(0.1)).list()
                            .layer(new org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional(
                                    new LSTM.Builder().nIn(4).nOut(3).dropOut(0.5).build()))
                            .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(6).nOut(3)
                                    .activation(Activation.IDENTITY).build())
                            .build());
                    net.init();
                    return net;
                }, "layer 0 (Bidirectional)'s forward layer"));
    }

    private static MultiLayerNetwork network(org.deeplearning4j.nn.conf.layers.Layer first) {
        MultiLayerNetwork net = new MultiLayerNetwork(base().updater(new Sgd(0.1)).list().layer(first)
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(4)).build());
        net.init();
        return net;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedConfigurations")
    void settingsTheGraphCannotTrainAsDl4jAreRefusedByNameWithNothingChanged(
            String what, java.util.function.Supplier<MultiLayerNetwork> network, String layer) {
        MutableNetwork m = MutableNetwork.of(network.get());
        INDArray before = m.toMultiLayerNetwork(Map.of()).params().dup();
        boolean series = layer.contains("Bidirectional") || what.equals("TruncatedBPTT");
        DataSet d = series
                ? new DataSet(Networks.randn(DataType.DOUBLE, 1, N, 4, 3), Networks.randn(DataType.DOUBLE, 2, N, 3, 3))
                : new DataSet(Networks.randn(DataType.DOUBLE, 1, N, 4), Networks.oneHot(DataType.DOUBLE, 2, N, 3));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> m.fit(d));
        assertTrue(e.getMessage().contains(what) && e.getMessage().contains(layer), e.getMessage());
        assertEquals(before, m.toMultiLayerNetwork(Map.of()).params(), "nothing changed");
        assertEquals(0, m.iterationCount());
    }

    @Test
    void masksAndBadArgumentsAreRefusedBeforeAnyStep() {
        MutableNetwork m = MutableNetwork.of(classifier());
        DataSet d = batches(1, 3).get(0);
        DataSet masked = new DataSet(d.getFeatures(), d.getLabels(), null, Nd4j.ones(DataType.DOUBLE, N, 1));
        IllegalArgumentException mask = assertThrows(IllegalArgumentException.class, () -> m.fit(masked));
        assertTrue(mask.getMessage().contains("mask"), mask.getMessage());
        IllegalArgumentException epochs = assertThrows(IllegalArgumentException.class, () -> m.fit(
                new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(List.of(d), N), 0));
        assertTrue(epochs.getMessage().contains("epochs"), epochs.getMessage());
        IllegalArgumentException wrongWidth = assertThrows(IllegalArgumentException.class, () -> m.fit(
                new DataSet(Nd4j.ones(DataType.DOUBLE, N, 5), d.getLabels())));
        assertTrue(wrongWidth.getMessage().contains("[N, 4]"), wrongWidth.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.fit((DataSet) null));
        assertEquals(0, m.iterationCount());
        assertTrue(Double.isNaN(m.score()), "no step, no score");
    }
}
