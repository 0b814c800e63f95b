package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.layers.variational.VariationalAutoencoder;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

class MutableNetworkTest {

    private static MultiLayerNetwork mlp(DataType type) {
        return Networks.network(type, InputType.feedForward(3),
                new DenseLayer.Builder().nOut(8).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
    }

    @Test
    void namesKeysAndParametersFollowDl4j() {
        MutableNetwork m = MutableNetwork.of(mlp(DataType.FLOAT));
        assertEquals(List.of("0_W", "0_b", "1_W", "1_b"), m.parameterKeys());
        assertEquals("layer0/W", m.param(0, "W").name());
        assertEquals(m.param(0, "W"), m.param("0_W"));
        assertEquals("input", m.inputName());
        assertEquals("output", m.outputName());
        assertEquals("labels", m.labelName());
        assertEquals("loss", m.lossName());
        assertEquals(List.of(m.lossName()), m.graph().sameDiff().getLossVariables());
    }

    @Test
    void aNullNetworkIsNamed() {
        for (Executable conversion : new Executable[] {() -> MutableNetwork.of((MultiLayerNetwork) null),
                () -> MutableNetwork.of((ComputationGraph) null)}) {
            NullPointerException e = assertThrows(NullPointerException.class, conversion);
            assertEquals("The network to convert is null.", e.getMessage());
        }
    }

    @Test
    void aSixLayerMixedStackMatchesDl4j() {
        MultiLayerNetwork net = Networks.network(DataType.DOUBLE, InputType.convolutional(10, 10, 2),
                new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                new BatchNormalization.Builder().build(),
                new DenseLayer.Builder().nOut(10).activation(Activation.TANH).dropOut(0.8).build(),
                new DropoutLayer.Builder(0.5).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(3).build());
        INDArray x = Networks.randn(DataType.DOUBLE, 3, 6, 2, 10, 10);
        // Train DL4J a little, so that the running statistics and weights are not their initial values.
        for (int i = 0; i < 3; i++) {
            net.fit(x, Networks.oneHot(DataType.DOUBLE, i, 6, 3));
        }
        Checks.assertClose(net.output(x), MutableNetwork.of(net).output(x), 1e-10, "6-layer stack");
    }

    @Test
    void theNetworkIsBitIdenticalAfterConversionMutationAndTraining() {
        MultiLayerNetwork net = mlp(DataType.FLOAT);
        INDArray before = net.params().dup();
        MutableNetwork m = MutableNetwork.of(net);
        m.param(0, "W").muli(2.0).addi(0.1);
        SameDiff sd = m.graph().sameDiff();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.1))
                .dataSetFeatureMapping(m.inputName()).dataSetLabelMapping(m.labelName()).build());
        INDArray x = Networks.randn(DataType.FLOAT, 4, 8, 3);
        INDArray y = Networks.randn(DataType.FLOAT, 5, 8, 2);
        INDArray graphBefore = m.output(x);
        Checks.quietly(() -> sd.fit(new MultiDataSet(x, y)));

        assertNotEquals(graphBefore, m.output(x), "training changed the graph");
        assertEquals(before, net.params(), "the DL4J network must not change");
    }

    @Test
    void bakingPutsTheMutatedValuesIntoAPlainNetwork() {
        MultiLayerNetwork net = mlp(DataType.DOUBLE);
        MutableNetwork m = MutableNetwork.of(net);
        m.param(0, "W").muli(0.5);
        m.param("1_b").fill(3.0);
        INDArray x = Networks.randn(DataType.DOUBLE, 4, 6, 3);

        MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());

        Checks.assertClose(m.output(x), baked.output(x), 1e-12, "baked output");
        assertEquals(net.getParam("0_W").mul(0.5), baked.getParam("0_W"));
        assertEquals(Nd4j.valueArrayOf(baked.getParam("1_b").shape(), 3.0, DataType.DOUBLE), baked.getParam("1_b"));
        assertNotEquals(net.output(x), baked.output(x));
    }

    /**
     * The README's hypernetwork story over a converted DL4J network: a small SameDiff network maps a task
     * descriptor to all of layer 0's weights; only the hypernetwork is trained.
     */
    @Test
    void aHypernetworkTrainsThroughAConvertedNetworkAndTheBakedNetworkReproducesIt() {
        MultiLayerNetwork net = mlp(DataType.FLOAT);
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        SDVariable task = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        long size = m.graph().flatSize("layer0/W", "layer0/b");
        SDVariable hidden = sd.math().tanh(task.mmul(sd.var("hyper/W1", Networks.randn(DataType.FLOAT, 7, 2, 16).muli(0.5))));
        SDVariable flat = hidden.mmul(sd.var("hyper/W2", Networks.randn(DataType.FLOAT, 8, 16, size).muli(0.1)))
                .add(sd.var("hyper/b2", Networks.randn(DataType.FLOAT, 9, size).muli(0.5)));
        m.graph().setFromFlat(flat, "layer0/W", "layer0/b");
        m.param(0, "W").initial();      // replaced: no longer trained itself

        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.01))
                .dataSetFeatureMapping(m.inputName(), "task").dataSetLabelMapping(m.labelName()).build());
        INDArray x = Networks.randn(DataType.FLOAT, 10, 32, 3);
        INDArray taskValue = Nd4j.createFromArray(new float[][] {{0.5f, -1f}});
        INDArray y = x.mmul(Networks.randn(DataType.FLOAT, 11, 3, 2));      // a linear target
        MultiDataSet data = new MultiDataSet(new INDArray[] {x, taskValue}, new INDArray[] {y});
        double first = m.graph().sameDiff().output(Map.of(m.inputName(), x, "task", taskValue, m.labelName(), y),
                m.lossName()).get(m.lossName()).getDouble(0);
        Checks.quietly(() -> sd.fit(new org.nd4j.linalg.dataset.adapter.SingletonMultiDataSetIterator(data), 150));
        double last = m.graph().sameDiff().output(Map.of(m.inputName(), x, "task", taskValue, m.labelName(), y),
                m.lossName()).get(m.lossName()).getDouble(0);
        assertTrue(last < first / 5, "loss must fall at least 5x: " + first + " -> " + last);

        MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of("task", taskValue));
        Checks.assertClose(m.output(x, Map.of("task", taskValue)), baked.output(x), 1e-5, "baked hypernetwork output");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> m.toMultiLayerNetwork(Map.of()));
        assertTrue(missing.getMessage().contains("[task]"), missing.getMessage());
    }

    @Test
    void anUnsupportedLayerIsNamedWithItsIndexClassAndTheSupportedListAndNothingChanges() {
        MultiLayerNetwork net = Networks.network(DataType.FLOAT, InputType.feedForward(4),
                new DenseLayer.Builder().nOut(5).build(),
                new VariationalAutoencoder.Builder().nOut(3).encoderLayerSizes(4).decoderLayerSizes(4).build(),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
        INDArray before = net.params().dup();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().startsWith("Layer 1 (VariationalAutoencoder)"), e.getMessage());
        assertTrue(e.getMessage().contains("DenseLayer") && e.getMessage().contains("LSTM"), e.getMessage());
        assertEquals(before, net.params());
    }

    @Test
    void anUnsupportedOptionIsNamed() {
        MultiLayerNetwork net = Networks.network(DataType.FLOAT, InputType.feedForward(3),
                new DenseLayer.Builder().nOut(4).weightNoise(new DropConnect(0.5)).build(),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().contains("Layer 0 (DenseLayer)") && e.getMessage().contains("weight noise"),
                e.getMessage());
    }

    @Test
    void aNetworkThatWasNotInitialisedIsRejected() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(2).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nIn(2).nOut(1).build())
                .build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().contains("net.init()"), e.getMessage());
    }

    @Test
    void aSimpleRnnNeedsTheSequenceLength() {
        MultiLayerNetwork net = Networks.network(DataType.FLOAT, InputType.recurrent(3),
                new org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn.Builder().nOut(4).build(),
                new org.deeplearning4j.nn.conf.layers.RnnOutputLayer.Builder(LossFunction.MSE)
                        .activation(Activation.IDENTITY).nOut(2).build());
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(net));
        assertTrue(e.getMessage().contains("Layer 0 (SimpleRnn)")
                && e.getMessage().contains("MutableNetwork.of(net, sequenceLength)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MutableNetwork.of(net, 0));
        INDArray x = Networks.randn(DataType.FLOAT, 1, 2, 3, 6);
        Checks.assertClose(net.output(x), MutableNetwork.of(net, 6).output(x), 1e-5, "unrolled over 6 steps");
    }

    @Test
    void aMaskZeroLayerNeedsTheSequenceLengthAndALayerItCanMask() {
        org.deeplearning4j.nn.conf.layers.RnnOutputLayer output = new org.deeplearning4j.nn.conf.layers.RnnOutputLayer
                .Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build();
        MultiLayerNetwork lstm = Networks.network(DataType.FLOAT, InputType.recurrent(3), new MaskZeroLayer.Builder()
                .setUnderlying(new LSTM.Builder().nOut(4).build()).setMaskValue(0).build(), output);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(lstm));
        assertTrue(e.getMessage().contains("Layer 0 (MaskZeroLayer)")
                && e.getMessage().contains("MutableNetwork.of(net, sequenceLength)"), e.getMessage());
        INDArray x = Networks.randn(DataType.FLOAT, 1, 2, 3, 6);
        x.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.interval(4, 6)).assign(0);
        Checks.assertClose(lstm.output(x), MutableNetwork.of(lstm, 6).output(x), 1e-5, "unrolled over 6 steps");

        MultiLayerNetwork graves = Networks.network(DataType.FLOAT, InputType.recurrent(3), new MaskZeroLayer.Builder()
                .setUnderlying(new GravesLSTM.Builder().nOut(4).build()).build(), output);
        e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(graves, 6));
        assertTrue(e.getMessage().contains("MaskZeroLayer around GravesLSTM")
                && e.getMessage().contains("MaskZeroLayer around LSTM or SimpleRnn"), e.getMessage());
        MultiLayerNetwork nwc = Networks.network(DataType.FLOAT, InputType.recurrent(3, RNNFormat.NWC),
                new MaskZeroLayer.Builder().setUnderlying(new Bidirectional(new LSTM.Builder().nOut(4)
                        .dataFormat(RNNFormat.NWC).build())).build(), output);
        e = assertThrows(UnsupportedLayerException.class, () -> MutableNetwork.of(nwc, 6));
        assertTrue(e.getMessage().contains("MaskZeroLayer around Bidirectional of LSTM (NWC)"), e.getMessage());
    }

    @Test
    void everyParameterHasAGradientZeroWhereTheScoreDoesNotDependOnIt() {
        // one time step: the recurrent weights meet only the zero initial state (fuzz seeds 4221, 4628, 4679)
        MultiLayerNetwork net = Networks.network(DataType.DOUBLE, InputType.recurrent(3),
                new org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn.Builder().nOut(4)
                        .activation(Activation.TANH).build(),
                new org.deeplearning4j.nn.conf.layers.RnnOutputLayer.Builder(LossFunction.MSE)
                        .activation(Activation.IDENTITY).nOut(2).build());
        INDArray x = Networks.randn(DataType.DOUBLE, 1, 5, 3, 1);
        INDArray y = Networks.randn(DataType.DOUBLE, 2, 5, 2, 1);
        Map<String, INDArray> gradients = MutableNetwork.of(net, 1).gradients(x, y);
        assertEquals(net.paramTable().keySet(), gradients.keySet());
        assertEquals(Nd4j.zeros(DataType.DOUBLE, 4, 4), gradients.get("0_RW"));
        Map<String, INDArray> dl4j = Networks.dl4jGradient(net, new INDArray[] {x}, new INDArray[] {y})
                .gradientForVariable();
        for (String key : net.paramTable().keySet()) {
            Checks.assertRelativelyClose(dl4j.get(key).div(5).reshape(gradients.get(key).shape()), gradients.get(key),
                    1e-8, key);
        }
    }

    @Test
    void anUnknownKeyListsTheKnownOnes() {
        MutableNetwork m = MutableNetwork.of(mlp(DataType.FLOAT));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.param(0, "RW"));
        assertTrue(e.getMessage().contains("\"0_RW\"") && e.getMessage().contains("0_W"), e.getMessage());
    }

    @Test
    void frozenParametersAreMutableButNotTrained() {
        MultiLayerNetwork net = Networks.network(DataType.FLOAT, InputType.feedForward(3),
                new org.deeplearning4j.nn.conf.layers.misc.FrozenLayer(
                        new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build()),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
        MutableNetwork m = MutableNetwork.of(net);
        MutableParameter frozen = m.param(0, "W");
        INDArray initial = frozen.initial().getArr().dup();
        SameDiff sd = m.graph().sameDiff();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.1))
                .dataSetFeatureMapping(m.inputName()).dataSetLabelMapping(m.labelName()).build());
        INDArray x = Networks.randn(DataType.FLOAT, 4, 8, 3);
        Checks.quietly(() -> sd.fit(new MultiDataSet(x, Networks.randn(DataType.FLOAT, 5, 8, 2))));

        assertEquals(initial, frozen.initial().getArr(), "frozen weights are not trained");
        assertNotEquals(net.getParam("1_W"), m.param(1, "W").initial().getArr(), "the output layer is trained");
        frozen.muli(0.0);
        assertEquals(0.0, m.toMultiLayerNetwork(Map.of()).getParam("0_W").sumNumber().doubleValue(), 0.0);
    }
}
