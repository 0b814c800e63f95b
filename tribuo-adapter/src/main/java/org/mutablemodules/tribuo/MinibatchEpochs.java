package org.mutablemodules.tribuo;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;

/**
 * Epochs of shuffled, example-weighted minibatches for the Tribuo trainers. The data side only: each minibatch is
 * one {@link GraphTrainer#step} of the core's training loop (its updaters, Adam computed by the JVM included), and
 * each pass over the data ends with {@link GraphTrainer#endEpoch}, so per-epoch schedules see Tribuo's epochs.
 *
 * <p>Shuffling draws from the trainer's seeded stream, a Fisher-Yates pass per epoch, so a seed gives the same model.
 * A minibatch's example weights are divided by their sum, so its loss is the weighted mean; a minibatch whose weights
 * sum to zero is skipped.
 */
final class MinibatchEpochs {

    /** What one training run needs. Every array in {@code data} has one row per example. */
    static final class Job {
        SameDiff sd;
        String lossName;
        String weightsName;
        Map<String, INDArray> data;
        INDArray weights;
        IUpdater updater;
        int epochs;
        int minibatchSize;
        boolean shuffle;
        SplittableRandom rng;
        int loggingInterval;
        Logger log;
        String what;
    }

    private MinibatchEpochs() {
    }

    /**
     * Trains every trainable floating-point {@code VARIABLE} of {@code job.sd} that the loss depends on.
     *
     * @return the mean (example-weighted) training loss of each epoch
     * @throws ArithmeticException if a minibatch's loss is NaN or infinite (from {@link GraphTrainer#step})
     */
    static double[] run(Job job) {
        GraphTrainer trainer = GraphTrainer.builder(job.sd).loss(job.lossName).updater(job.updater).build();
        int n = (int) job.weights.length();
        double[] w = job.weights.toDoubleVector();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        double[] epochLosses = new double[job.epochs];
        long start = System.nanoTime();
        for (int epoch = 0; epoch < job.epochs; epoch++) {
            if (job.shuffle) {
                shuffle(order, job.rng);
            }
            double lossSum = 0;
            double weightSum = 0;
            for (int from = 0; from < n; from += job.minibatchSize) {
                int to = Math.min(n, from + job.minibatchSize);
                int[] rows = new int[to - from];
                double total = 0;
                for (int k = from; k < to; k++) {
                    rows[k - from] = order[k];
                    total += w[order[k]];
                }
                if (total <= 0) {
                    continue;
                }
                Map<String, INDArray> feed = new HashMap<>();
                job.data.forEach((name, array) -> feed.put(name, rowsOf(array, rows)));
                INDArray batchWeights = rowsOf(job.weights, rows).reshape(rows.length, 1).divi(total);
                feed.put(job.weightsName, batchWeights.castTo(job.sd.getVariable(job.weightsName).dataType()));
                lossSum += trainer.step(feed) * total;
                weightSum += total;
            }
            trainer.endEpoch();
            epochLosses[epoch] = weightSum > 0 ? lossSum / weightSum : Double.NaN;
            if (job.loggingInterval > 0 && ((epoch + 1) % job.loggingInterval == 0 || epoch == job.epochs - 1)) {
                job.log.info("{}: epoch {}/{}, mean training loss {}, {} steps, {} s", job.what, epoch + 1,
                        job.epochs, String.format(Locale.ROOT, "%.5f", epochLosses[epoch]), trainer.iteration(),
                        String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9));
            }
        }
        return epochLosses;
    }

    private static void shuffle(int[] order, SplittableRandom rng) {
        for (int i = order.length; i > 1; i--) {
            int j = rng.nextInt(i);
            int t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
    }

    private static INDArray rowsOf(INDArray array, int[] rows) {
        return array.rank() == 1 ? Nd4j.pullRows(array.reshape(array.length(), 1), 1, rows)
                : Nd4j.pullRows(array, 1, rows);
    }
}
