package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.adapter.SingletonMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * The seed's hypernetwork: net1, a 1->2 dense layer, predicts the weight and bias of net2, a 1->1 dense layer; the
 * loss of net2 on a linear regression task trains net1 alone.
 */
class HypernetworkTest {

    @Test
    void trainingTheHypernetworkThroughTheMutatedLayerLowersTheLossAHundredfold() {
        SameDiff sd = Fixtures.linear1x1(DataType.FLOAT);      // net2: out = x W + b
        MutableGraph net2 = MutableGraph.of(sd);

        Nd4j.getRandom().setSeed(1);
        SDVariable net1Input = sd.constant("net1/in", Nd4j.ones(DataType.FLOAT, 1, 1));
        SDVariable net1W = sd.var("net1/W", Nd4j.randn(DataType.FLOAT, 1, 2).muli(0.1));
        SDVariable net1b = sd.var("net1/b", Nd4j.zeros(DataType.FLOAT, 2));
        net2.setFromFlat(net1Input.mmul(net1W).add(net1b), "W", "b");     // predicted [W, b]

        SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, 1);
        sd.loss().meanSquaredError("loss", y, sd.getVariable("out"), null);
        sd.setLossVariables("loss");
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.05))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());

        INDArray x = Nd4j.linspace(-2, 2, 32, DataType.FLOAT).reshape(32, 1);
        INDArray target = x.mul(3.0).add(-1.5);                        // y = 3x - 1.5
        MultiDataSet data = new MultiDataSet(x, target);
        INDArray net2WeightBefore = sd.getVariable("W/init").getArr().dup();

        // Measured with output(): in ND4J 1.0.0-M2.1 the History that fit returns reports every loss as 0.
        Map<String, INDArray> feed = Map.of("x", x, "y", target);
        double first = sd.output(feed, "loss").get("loss").getDouble(0);
        Fixtures.quietly(() -> sd.fit(new SingletonMultiDataSetIterator(data), 300));
        double last = sd.output(feed, "loss").get("loss").getDouble(0);
        assertTrue(first > 1.0, "the untrained loss is large: " + first);
        assertTrue(last * 100 <= first, "loss must drop at least 100x: " + first + " -> " + last);
        assertTrue(sd.getVariable("W/init").getArr().equals(net2WeightBefore), "net2's own weight is not trained");
        INDArray predicted = sd.getVariable("W").eval();
        assertTrue(Math.abs(predicted.getDouble(0) - 3.0) < 0.05, "predicted weight ~3: " + predicted);
    }
}
