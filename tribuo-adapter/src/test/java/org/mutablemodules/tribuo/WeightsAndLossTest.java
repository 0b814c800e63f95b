package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.dl4j.internal.LayerFunctions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossL1;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMAE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/** The weighted loss is DL4J's score, gradients included, for equal weights; example weights change what is learnt. */
class WeightsAndLossTest {

    private static final Logger log = LoggerFactory.getLogger(WeightsAndLossTest.class);

    /**
     * With weights 1/N the training loss is DL4J's score and its gradients DL4J's (divided by N, as
     * {@code MutableNetwork.gradients} reports them), and the host-side loss of a model's predictions agrees. The
     * classifier's softmax clips at 0.2 ({@code softmaxClipEps}) and its logits are scaled up so that probabilities
     * fall outside [0.2, 0.8]: DL4J scores the clipped probabilities, where {@code log(p + 1e-10)} would not.
     */
    @ParameterizedTest
    @EnumSource(NetworkSpec.Loss.class)
    void withEqualWeightsTheLossAndItsGradientsAreDl4jsScoreAndGradients(NetworkSpec.Loss loss) {
        boolean classification = loss == NetworkSpec.Loss.MCXENT;
        ILossFunction fn = switch (loss) {
            case MCXENT -> new LossMCXENT(0.2, null);
            case MSE -> new LossMSE();
            case L2 -> new LossL2();
            case MAE -> new LossMAE();
            case L1 -> new LossL1();
        };
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE)
                .seed(5).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(fn).nIn(5).nOut(2)
                        .activation(classification ? Activation.SOFTMAX : Activation.IDENTITY).build())
                .build());
        net.init();
        net.getParam("1_W").muli(classification ? 8 : 1);
        MutableNetwork mutable = MutableNetwork.of(net);
        SameDiff sd = mutable.graph().sameDiff();
        SDVariable output = sd.getVariable(mutable.outputName());
        OutputLayer outputLayer = (OutputLayer) net.getLayerWiseConfigurations().getConf(1).getLayer();
        SDVariable weighted = LayerFunctions.weightedLoss(fn, outputLayer.getActivationFn(),
                LayerFunctions.softmaxInput(output), output, sd.getVariable(mutable.labelName()),
                sd.placeHolder("w", DataType.DOUBLE, -1, 1), "The output layer");
        sd.updateVariableNameAndReference(weighted, "weighted", true);
        sd.setLossVariables("weighted");
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 6, 3);
        INDArray y = classification ? Nd4j.createFromArray(new double[][] {{1, 0}, {0, 1}, {1, 0}, {1, 0}, {0, 1},
            {0, 1}}) : Nd4j.randn(DataType.DOUBLE, 6, 2);
        INDArray w = Nd4j.valueArrayOf(new long[] {6, 1}, 1.0 / 6, DataType.DOUBLE);
        Map<String, INDArray> feed = Map.of(mutable.inputName(), x, mutable.labelName(), y, "w", w);
        double ours = sd.output(feed, "weighted").get("weighted").getDouble(0);
        double dl4j = net.score(new org.nd4j.linalg.dataset.DataSet(x, y));
        if (classification) {
            INDArray p = net.output(x);
            assertTrue(p.minNumber().doubleValue() < 0.2, "some probabilities are clipped: " + p);
            double unclipped = 0;
            for (int i = 0; i < 6; i++) {
                unclipped -= Math.log(p.getDouble(i, y.getDouble(i, 0) == 1 ? 0 : 1) + 1e-10) / 6;
            }
            assertTrue(Math.abs(unclipped - dl4j) > 0.05, "the clipping matters here: " + unclipped + " " + dl4j);
        }
        assertEquals(dl4j, ours, 1e-12);
        MutableNetwork reference = MutableNetwork.of(net);      // its own graph, whose loss is DL4J's score
        assertEquals(reference.score(x, y), ours, 1e-12);
        assertEquals(ours, WeightedLosses.evaluate(NetworkSpec.of(net.getLayerWiseConfigurations()),
                classification ? OutputKind.LABEL : OutputKind.REGRESSOR, net.output(x), y, Nd4j.ones(6)), 1e-12);
        Map<String, INDArray> expected = reference.gradients(x, y);
        Map<String, INDArray> gradients = sd.calculateGradients(feed, mutable.param("1_W").name(),
                mutable.param("0_W").name());
        for (String key : List.of("0_W", "1_W")) {
            INDArray actual = gradients.get(mutable.param(key).name());
            assertTrue(expected.get(key).equalsWithEps(actual, 1e-12), key + ": " + expected.get(key) + " " + actual);
        }
    }

    @Test
    void exampleWeightsDecideBetweenContradictoryLabels() {
        // Every point appears twice, with the label "heavy" (weight 10) and "light" (weight 1); unweighted, the
        // labels would tie everywhere.
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("ties", new LabelFactory()),
                new LabelFactory());
        for (int i = 0; i < 40; i++) {
            double[] x = {Math.sin(i), Math.cos(3 * i)};
            String heavy = x[0] > 0 ? "A" : "B";
            String light = x[0] > 0 ? "B" : "A";
            ArrayExample<Label> a = new ArrayExample<>(new Label(heavy), new String[] {"f0", "f1"}, x);
            a.setWeight(10f);
            ArrayExample<Label> b = new ArrayExample<>(new Label(light), new String[] {"f0", "f1"}, x);
            b.setWeight(1f);
            data.add(a);
            data.add(b);
        }
        MutableNetworkModel<Label> model = MutableNetworkTrainer.classification(Fixtures.mlp(2, 8, 2,
                Activation.SOFTMAX, LossFunction.MCXENT))
                        .updater(new Adam(0.05)).epochs(60).minibatchSize(16).seed(Fixtures.SEED).build().train(data);
        int right = 0;
        double probability = 0;
        for (int i = 0; i < data.size(); i += 2) {
            ArrayExample<Label> e = (ArrayExample<Label>) data.getExample(i);
            Prediction<Label> p = model.predict(e);
            if (p.getOutput().getLabel().equals(e.getOutput().getLabel())) {
                right++;
            }
            probability += p.getOutputScores().get(e.getOutput().getLabel()).getScore() / 40;
        }
        log.info("Contradictory labels weighted 10:1: {} of 40 points predicted as the heavy label, mean probability "
                + "{} (optimum 10/11)", right, probability);
        assertTrue(right >= 36, right + " of 40 points predicted as their heavy label");
        // Ignoring the weights, every probability would be near 1/2; the weighted optimum is 10/11.
        assertTrue(probability > 0.7, "mean probability of the heavy label " + probability);
    }
}
