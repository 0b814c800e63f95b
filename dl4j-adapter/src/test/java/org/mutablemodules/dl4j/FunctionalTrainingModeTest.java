package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mutablemodules.dl4j.FunctionalCallTest.feed;
import static org.mutablemodules.dl4j.FunctionalCallTest.names;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
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
 * The functional view in DL4J's training mode ({@link FunctionalView#training()}): batch normalisation from the
 * batch's statistics, as MAML trains convolutional networks. Forward and score equal DL4J's own in training mode
 * ({@code output(x, true)}, {@code score(ds, true)}); the explicit gradients equal SameDiff's gradients of the
 * training-mode score to 1e-10 and DL4J's own training gradients; the meta-gradient through them passes finite
 * differences.
 */
class FunctionalTrainingModeTest {

    private static final DataType D = DataType.DOUBLE;
    private static final int EXAMPLES = 6;

    /** A network, the per-example shape of its input and its labels. */
    record Case(String name, Supplier<MultiLayerNetwork> network, long[] inputShape, Supplier<INDArray> labels) {

        INDArray input(long seed, long n) {
            long[] shape = new long[inputShape.length + 1];
            shape[0] = n;
            System.arraycopy(inputShape, 0, shape, 1, inputShape.length);
            return Networks.randn(D, seed, shape);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("dense, batch normalisation, tanh, softmax", () -> Networks.network(D, null,
                        new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.IDENTITY).build(),
                        new BatchNormalization.Builder().nOut(4).build(),
                        new ActivationLayer.Builder().activation(Activation.TANH).build(),
                        new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3).activation(Activation.SOFTMAX)
                                .build()),
                        new long[] {3}, () -> Networks.oneHot(D, 41, EXAMPLES, 3)),
                new Case("NHWC conv, batch normalisation (log std), relu, max pool, MSE", () -> Networks
                        .network(D, InputType.convolutional(6, 6, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new BatchNormalization.Builder().useLogStd(true).dataFormat(CNN2DFormat.NHWC).build(),
                        new ActivationLayer.Builder().activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new OutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build()),
                        new long[] {6, 6, 2}, () -> Networks.randn(D, 42, EXAMPLES, 2)),
                new Case("conv, batch normalisation with locked gamma and beta, average pool, softmax", () ->
                        Networks.network(D, InputType.convolutional(5, 5, 1),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.IDENTITY).build(),
                        new BatchNormalization.Builder().lockGammaBeta(true).gamma(1.5).beta(-0.2).build(),
                        new ActivationLayer.Builder().activation(Activation.SIGMOID).build(),
                        new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(2, 2).build(),
                        new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build()),
                        new long[] {1, 5, 5}, () -> Networks.oneHot(D, 43, EXAMPLES, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndScoreEqualDl4jsTrainingMode(Case c) {
        MultiLayerNetwork net = c.network().get();
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        FunctionalView training = m.functional().training();
        INDArray x = c.input(1, EXAMPLES);
        INDArray y = c.labels().get();
        SDVariable out = training.forward(sd.getVariable(m.inputName()), Map.of());
        SDVariable loss = training.loss(sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of());
        Map<String, INDArray> values = sd.output(feed(m, x, y), out.name(), loss.name());
        INDArray dl4j = net.output(x, true);
        Checks.assertRelativelyClose(dl4j, values.get(out.name()), 1e-10, "training-mode forward");
        double score = net.score(new DataSet(x, y), true);
        assertEquals(score, values.get(loss.name()).getDouble(0), 1e-10 * Math.abs(score), "training-mode score");
        // the running statistics (0 and 1) are not the batch's: the inference mode computes otherwise
        assertTrue(Checks.maxRelativeDifference(m.output(x), dl4j) > 1e-3, "the modes differ");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void explicitGradientsEqualSameDiffsAndDl4jsTrainingGradients(Case c) {
        MultiLayerNetwork net = c.network().get();
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        FunctionalView training = m.functional().training();
        Map<String, SDVariable> substituted = new LinkedHashMap<>();
        for (String key : m.parameterKeys()) {
            SDVariable v = sd.var("theta/" + key, m.param(key).initial().getArr().dup());
            substituted.put(key, v.mul(1.0));
        }
        INDArray x = c.input(2, EXAMPLES);
        INDArray y = c.labels().get();
        SDVariable in = sd.getVariable(m.inputName());
        SDVariable labels = sd.getVariable(m.labelName());
        Map<String, SDVariable> explicit = training.lossGradients(in, labels, substituted);
        SDVariable loss = training.loss(in, labels, substituted);
        Map<String, INDArray> values = sd.output(feed(m, x, y), names(explicit));
        sd.setLossVariables(loss.name());
        Map<String, INDArray> automatic = sd.calculateGradients(feed(m, x, y),
                m.parameterKeys().stream().map(k -> "theta/" + k).toArray(String[]::new));
        net.setInput(x);
        net.setLabels(y);
        net.computeGradientAndScore();
        int compared = 0;
        for (String key : m.parameterKeys()) {
            INDArray mine = values.get(explicit.get(key).name());
            if (isRunningStatistic(key)) {
                // not read in training mode: SameDiff finds no path from it to the score
                assertEquals(null, automatic.get("theta/" + key), key);
                assertEquals(0.0, mine.norm2Number().doubleValue(), 0.0, key + ": not read in training mode");
            } else {
                Checks.assertRelativelyClose(automatic.get("theta/" + key), mine, 1e-10, key);
                // DL4J's own training gradient, summed over the examples (its updater divides by their number);
                // for the running statistics DL4J reports their update instead
                Checks.assertRelativelyClose(net.gradient().getGradientFor(key).div(EXAMPLES), mine, 1e-8,
                        "DL4J " + key);
                assertTrue(mine.norm2Number().doubleValue() > 0, "no signal in " + key);
                compared++;
            }
        }
        assertTrue(compared >= 3, "gradients compared with DL4J's: " + compared);
    }

    private static boolean isRunningStatistic(String key) {
        return key.endsWith("_mean") || key.endsWith("_var") || key.endsWith("_log10stdev");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void metaGradientThroughTrainingModeStepsPassesFiniteDifferences(Case c) {
        MutableNetwork m = MutableNetwork.of(c.network().get());
        SameDiff sd = m.graph().sameDiff();
        FunctionalView training = m.functional().training();
        long[] shape = new long[c.inputShape().length + 1];
        shape[0] = -1;
        System.arraycopy(c.inputShape(), 0, shape, 1, c.inputShape().length);
        SDVariable queryX = sd.placeHolder("query/x", D, shape);
        SDVariable queryY = sd.placeHolder("query/y", D, -1, c.labels().get().size(1));
        Map<String, SDVariable> adapted = new LinkedHashMap<>();
        for (String key : m.parameterKeys()) {
            adapted.put(key, m.param(key).value());
        }
        // A shift variable (zero) on each input and labels: SameDiff differentiates ops that read placeholders alone
        // only so (see FunctionalCallTest), and the shifts' gradients are checked too.
        SDVariable supportX = shifted(sd, sd.getVariable(m.inputName()), "support");
        SDVariable supportY = shifted(sd, sd.getVariable(m.labelName()), "support_labels");
        for (int step = 0; step < 2; step++) {
            Map<String, SDVariable> g = training.lossGradients(supportX, supportY, adapted);
            Map<String, SDVariable> next = new LinkedHashMap<>();
            adapted.forEach((key, value) -> next.put(key, value.sub(g.get(key).mul(0.3))));
            adapted = next;
        }
        SDVariable metaLoss = training.loss(shifted(sd, queryX, "query"), shifted(sd, queryY, "query_labels"),
                adapted);
        sd.setLossVariables(metaLoss.name());
        Map<String, INDArray> placeholders = feed(m, c.input(5, EXAMPLES), c.labels().get());
        placeholders.put(queryX.name(), c.input(6, EXAMPLES));
        placeholders.put(queryY.name(), c.labels().get().dup());
        // inputs and labels are checked through their shifts only (many elements)
        Checks.assertGradientsMatchFiniteDifferences(sd, placeholders,
                Set.of(m.labelName(), queryY.name(), m.inputName(), queryX.name()));
    }

    @Test
    void trainingModeIsAViewOfTheSameGraphAndRefusesDropoutByName() {
        MutableNetwork m = MutableNetwork.of(Networks.network(D, null,
                new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).dropOut(0.5).build(),
                new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(1).activation(Activation.IDENTITY).build()));
        FunctionalView inference = m.functional();
        FunctionalView training = inference.training();
        assertFalse(inference.isTraining());
        assertTrue(training.isTraining());
        assertSame(training, training.training());
        assertSame(m, training.network());
        SameDiff sd = m.graph().sameDiff();
        int before = sd.getVariables().size();
        SDVariable in = sd.getVariable(m.inputName());
        SDVariable labels = sd.getVariable(m.labelName());
        for (Runnable call : new Runnable[] {() -> training.forward(in, Map.of()),
                () -> training.loss(in, labels, Map.of()), () -> training.lossGradients(in, labels, Map.of())}) {
            String message = assertThrows(UnsupportedLayerException.class, call::run).getMessage();
            assertTrue(message.contains("Layer 0 (DenseLayer)") && message.contains("dropout"), message);
        }
        assertEquals(before, sd.getVariables().size(), "the graph is unchanged");
        // the inference mode applies no dropout, as the converted network
        INDArray x = Networks.randn(D, 1, 4, 3);
        SDVariable out = inference.forward(in, Map.of());
        Checks.assertRelativelyClose(m.output(x), sd.output(Map.of(m.inputName(), x), out.name()).get(out.name()),
                1e-12, "inference forward");
    }

    /** Dropout inside LastTimeStep is the wrapped layer's: refused by the training mode's lossGradients too. */
    @Test
    void dropoutInsideAWrappedRecurrentLayerIsRefusedInTrainingMode() {
        MutableNetwork m = MutableNetwork.of(Networks.network(D, InputType.recurrent(2, 3),
                new org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep(
                        new org.deeplearning4j.nn.conf.layers.LSTM.Builder().nIn(2).nOut(3).dropOut(0.5).build()),
                new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1).activation(Activation.IDENTITY).build()), 3);
        SameDiff sd = m.graph().sameDiff();
        String message = assertThrows(UnsupportedLayerException.class, () -> m.functional().training().lossGradients(
                sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of())).getMessage();
        assertTrue(message.contains("Layer 0 (LastTimeStep)") && message.contains("dropout"), message);
        // the inference mode applies none, as the converted network
        assertEquals(5, m.lossGradients(sd.getVariable(m.inputName()), sd.getVariable(m.labelName()), Map.of())
                .size());
    }

    /**
     * DL4J runs a frozen layer at inference even while training: a frozen batch normalisation keeps its running
     * statistics in the training mode, as DL4J's output(x, true).
     */
    @Test
    void aFrozenBatchNormalisationKeepsItsRunningStatisticsInTrainingMode() {
        MultiLayerNetwork net = Networks.network(D, null,
                new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.IDENTITY).build(),
                new org.deeplearning4j.nn.conf.layers.misc.FrozenLayer(new BatchNormalization.Builder().nOut(4)
                        .build()),
                new BatchNormalization.Builder().nOut(4).build(),
                new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY).build());
        net.getParam("1_mean").assign(0.3);
        net.getParam("1_log10stdev").assign(0.2);          // DL4J's default stores log10 of the deviation
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        SDVariable out = m.functional().training().forward(sd.getVariable(m.inputName()), Map.of());
        INDArray x = Networks.randn(D, 9, EXAMPLES, 3);
        Checks.assertRelativelyClose(net.output(x, true), sd.output(Map.of(m.inputName(), x), out.name())
                .get(out.name()), 1e-10, "training-mode forward with a frozen batch normalisation");
    }

    private static SDVariable shifted(SameDiff sd, SDVariable v, String name) {
        return v.add(sd.var("check/" + name + "_shift", Nd4j.scalar(D, 0.0)));
    }
}
