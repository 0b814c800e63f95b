package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.regression.Regressor;

/**
 * Both Tribuo trainers train through the core's {@code GraphTrainer}: Tribuo's epochs reach the updater's schedule,
 * and training and prediction print nothing.
 */
class TrainingLoopTest {

    /** A rate of 0.05 in the first epoch and 0 after it (gamma 0): later epochs must not move the weights. */
    private static final IUpdater FIRST_EPOCH_ONLY = new Sgd(new ExponentialSchedule(ScheduleType.EPOCH, 0.05, 0.0));

    private static final MultiLayerConfiguration LINEAR = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
            .list().layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1).activation(Activation.IDENTITY)
                    .build())
            .build();

    @Test
    void aPerEpochScheduleSeesTribuosEpochsInBothTrainers() {
        MutableDataset<Regressor> data = Fixtures.grouped(8, 20, 3L);
        Function<Integer, Model<Regressor>> network = epochs -> MutableNetworkTrainer.regression(
                Fixtures.mlp(5, 8, 1, Activation.IDENTITY, LossFunction.MSE))
                .updater(FIRST_EPOCH_ONLY).epochs(epochs).minibatchSize(16).seed(Fixtures.SEED).build().train(data);
        Function<Integer, Model<Regressor>> hypernetwork = epochs -> HypernetworkTrainer.regression(LINEAR)
                .contextPrefix("context.").hypernetwork(new int[] {8}, Activation.TANH).updater(FIRST_EPOCH_ONLY)
                .epochs(epochs).minibatchSize(16).seed(Fixtures.SEED).build().train(data);
        for (Function<Integer, Model<Regressor>> trainer : List.of(network, hypernetwork)) {
            double[] oneEpoch = predictions(trainer.apply(1), data);
            double[] fourEpochs = predictions(trainer.apply(4), data);
            // Epoch 0 trains (the same shuffle, the same steps); the epoch count then zeroes the rate.
            assertArrayEquals(oneEpoch, fourEpochs, 0.0);
            Model<Regressor> trainedWithAConstantRate = trainer == network
                    ? MutableNetworkTrainer.regression(Fixtures.mlp(5, 8, 1, Activation.IDENTITY, LossFunction.MSE))
                            .updater(new Sgd(0.05)).epochs(4).minibatchSize(16).seed(Fixtures.SEED).build().train(data)
                    : HypernetworkTrainer.regression(LINEAR).contextPrefix("context.")
                            .hypernetwork(new int[] {8}, Activation.TANH).updater(new Sgd(0.05)).epochs(4)
                            .minibatchSize(16).seed(Fixtures.SEED).build().train(data);
            double[] constant = predictions(trainedWithAConstantRate, data);
            double moved = 0;
            for (int i = 0; i < constant.length; i++) {
                moved = Math.max(moved, Math.abs(constant[i] - oneEpoch[i]));
            }
            assertTrue(moved > 1e-3, "later epochs train when the rate stays: " + moved);
        }
    }

    @Test
    void trainingAndPredictionPrintNothing() {
        MutableDataset<Regressor> data = Fixtures.grouped(4, 10, 5L);
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            predictions(MutableNetworkTrainer.regression(Fixtures.mlp(5, 8, 1, Activation.IDENTITY,
                    LossFunction.MSE))
                            .updater(new Sgd(0.01)).epochs(2).minibatchSize(8).seed(Fixtures.SEED)
                            .build().train(data), data);
            predictions(HypernetworkTrainer.regression(LINEAR).contextPrefix("context.").epochs(2).seed(1L).build()
                    .train(data), data);
        } finally {
            System.setOut(original);
        }
        assertEquals("", captured.toString(StandardCharsets.UTF_8));
    }

    private static double[] predictions(Model<Regressor> model, MutableDataset<Regressor> data) {
        return model.predict(data).stream().map(Prediction::getOutput).mapToDouble(r -> r.getValues()[0]).toArray();
    }
}
