package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.regression.Regressor;

/**
 * The Tribuo trainers and models print nothing on standard output: training (conversion, gradient function, steps)
 * and prediction of both trainers, with the first graph of the JVM built inside the capture.
 */
class StandardOutputTest {

    /** Runs {@code call} with standard output captured; @return what it printed. */
    private static <T> String printedBy(Supplier<T> call) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            call.get();
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void trainingAndPredictionPrintNothing() {
        List<MutableDataset<Label>> iris = Fixtures.irisSplit();
        Model<Label>[] classifier = new Model[1];
        assertEquals("", printedBy(() -> classifier[0] = MutableNetworkTrainer.classification(
                Fixtures.mlp(4, 8, 3, Activation.SOFTMAX, LossFunction.MCXENT))
                .updater(new Adam(0.02)).epochs(2).minibatchSize(16).seed(Fixtures.SEED).build()
                .train(iris.get(0))));
        assertEquals("", printedBy(() -> classifier[0].predict(iris.get(1))));

        MutableDataset<Regressor> grouped = Fixtures.grouped(6, 10, 5L);
        MultiLayerConfiguration linear = Fixtures.mlp(3, 4, 1, Activation.IDENTITY, LossFunction.MSE);
        Model<Regressor>[] hyper = new Model[1];
        assertEquals("", printedBy(() -> hyper[0] = HypernetworkTrainer.regression(linear)
                .contextPrefix("context.").hypernetwork(new int[] {8}, Activation.TANH)
                .updater(new Adam(0.01)).epochs(2).minibatchSize(16).seed(Fixtures.SEED).build()
                .train(grouped)));
        assertEquals("", printedBy(() -> hyper[0].predict(grouped)));
        assertEquals("", printedBy(() -> MutableNetworkTrainer.regression(
                Fixtures.mlp(5, 4, 1, Activation.IDENTITY, LossFunction.MSE))
                .updater(new Adam(0.01)).epochs(2).minibatchSize(16).seed(Fixtures.SEED).build()
                .train(grouped).predict(grouped)));
    }
}
