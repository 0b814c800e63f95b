package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/** The weighted loss equals DL4J's score for equal weights, and example weights change what is learnt. */
class WeightsAndLossTest {

    private static final Logger log = LoggerFactory.getLogger(WeightsAndLossTest.class);

    @ParameterizedTest
    @EnumSource(NetworkSpec.Loss.class)
    void withEqualWeightsTheLossIsDl4jsScore(NetworkSpec.Loss loss) {
        boolean classification = loss == NetworkSpec.Loss.MCXENT;
        LossFunction fn = loss == NetworkSpec.Loss.MAE ? LossFunction.MEAN_ABSOLUTE_ERROR
                : LossFunction.valueOf(loss.name());
        MultiLayerNetwork net = new MultiLayerNetwork(Fixtures.mlp(3, 5, 2, classification ? Activation.SOFTMAX
                : Activation.IDENTITY, fn));
        net.init();
        MutableNetwork mutable = MutableNetwork.of(net);
        SameDiff sd = mutable.graph().sameDiff();
        WeightedLosses.weighted(sd, "weighted", loss, sd.getVariable(mutable.outputName()),
                sd.getVariable(mutable.labelName()), sd.placeHolder("w", DataType.FLOAT, -1, 1), 2);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 6, 3);
        INDArray y = classification ? Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {1, 0}, {1, 0}, {0, 1},
            {0, 1}}) : Nd4j.randn(DataType.FLOAT, 6, 2);
        INDArray w = Nd4j.valueArrayOf(new long[] {6, 1}, 1.0 / 6, DataType.FLOAT);
        double ours = sd.output(Map.of(mutable.inputName(), x, mutable.labelName(), y, "w", w), "weighted")
                .get("weighted").getDouble(0);
        assertEquals(mutable.score(x, y), ours, 1e-5);
        assertEquals(net.score(new org.nd4j.linalg.dataset.DataSet(x, y)), ours, 1e-4);
        assertEquals(ours, WeightedLosses.evaluate(loss, net.output(x), y, Nd4j.ones(6)), 1e-5);
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
                Activation.SOFTMAX, LossFunction.MCXENT), new Adam(0.05), 60, 16, Fixtures.SEED).train(data);
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
