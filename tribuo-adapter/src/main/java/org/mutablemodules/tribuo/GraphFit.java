package org.mutablemodules.tribuo;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;

/**
 * Minibatch training of a SameDiff graph with a weighted loss: shuffling with the trainer's random stream, one ND4J
 * updater state per trainable variable (as {@code SameDiff.fit} keeps them), and the loss of every step, which
 * {@code SameDiff.fit}'s history does not report in ND4J 1.0.0-M2.1.
 *
 * <p>Each step computes the loss and the gradients in one pass ({@code calculateGradientsAndOutputs}), applies the
 * updater to each gradient and subtracts it from the variable, as {@code SameDiff.fit} does.
 */
final class GraphFit {

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

    private GraphFit() {
    }

    /**
     * Trains every trainable floating-point {@code VARIABLE} of {@code job.sd} that the loss depends on.
     *
     * @return the mean (example-weighted) training loss of each epoch
     */
    static double[] run(Job job) {
        SameDiff sd = job.sd;
        List<String> trainable = new ArrayList<>();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE && v.dataType().isFPType()) {
                trainable.add(v.name());
            }
        }
        createGradFunction(sd);
        Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
        for (String name : trainable) {
            INDArray arr = sd.getVariable(name).getArr();
            long stateSize = job.updater.stateSize(arr.length());
            INDArray view = stateSize == 0 ? null : Nd4j.zeros(arr.dataType(), 1, stateSize);
            GradientUpdater<?> u = job.updater.instantiate(view, true);
            if (view != null) {
                u.setStateViewArray(view, arr.shape(), arr.ordering(), true);
            }
            updaters.put(name, u);
        }
        int n = (int) job.weights.length();
        double[] w = job.weights.toDoubleVector();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        double[] epochLosses = new double[job.epochs];
        int iteration = 0;
        long start = System.nanoTime();
        for (int epoch = 0; epoch < job.epochs; epoch++) {
            if (job.shuffle) {
                for (int i = n; i > 1; i--) {
                    int j = job.rng.nextInt(i);
                    int t = order[i - 1];
                    order[i - 1] = order[j];
                    order[j] = t;
                }
            }
            double lossSum = 0;
            double weightSum = 0;
            for (int from = 0; from < n; from += job.minibatchSize) {
                int to = Math.min(n, from + job.minibatchSize);
                long[] rows = new long[to - from];
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
                feed.put(job.weightsName, batchWeights.castTo(sd.getVariable(job.weightsName).dataType()));
                OutAndGrad result = sd.calculateGradientsAndOutputs(feed, List.of(job.lossName), trainable);
                double loss = result.getOutputs().get(job.lossName).getDouble(0);
                if (!Double.isFinite(loss)) {
                    throw new IllegalStateException("The training loss of " + job.what + " became " + loss
                            + " at epoch " + epoch + ", step " + iteration + ": lower the updater's learning rate.");
                }
                lossSum += loss * total;
                weightSum += total;
                Map<String, INDArray> gradients = result.getGradients();
                for (String name : trainable) {
                    INDArray g = gradients.get(name);
                    if (g == null) {
                        continue;
                    }
                    INDArray param = sd.getVariable(name).getArr();
                    INDArray update = g.dup().reshape(param.shape());
                    updaters.get(name).applyUpdater(update, iteration, epoch);
                    param.subi(update);
                }
                iteration++;
            }
            epochLosses[epoch] = weightSum > 0 ? lossSum / weightSum : Double.NaN;
            if (job.loggingInterval > 0 && ((epoch + 1) % job.loggingInterval == 0 || epoch == job.epochs - 1)) {
                job.log.info("{}: epoch {}/{}, mean training loss {}, {} steps, {} s", job.what, epoch + 1,
                        job.epochs, String.format("%.5f", epochLosses[epoch]), iteration,
                        String.format("%.1f", (System.nanoTime() - start) / 1e9));
            }
        }
        return epochLosses;
    }

    private static INDArray rowsOf(INDArray array, long[] rows) {
        return array.rank() == 1 ? Nd4j.pullRows(array.reshape(array.length(), 1), 1, toInt(rows))
                : Nd4j.pullRows(array, 1, toInt(rows));
    }

    private static int[] toInt(long[] rows) {
        int[] r = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            r[i] = (int) rows[i];
        }
        return r;
    }

    /**
     * Builds the graph's gradient function. ND4J 1.0.0-M2.1 prints a line per op on standard output while it does
     * (a plain {@code System.out.println}); library code must not print, so those lines, and only those, are dropped
     * for the duration.
     */
    static void createGradFunction(SameDiff sd) {
        synchronized (GraphFit.class) {
            PrintStream out = System.out;
            System.setOut(new DroppingStream(out));
            try {
                sd.createGradFunction();
            } finally {
                System.out.flush();
                System.setOut(out);
            }
        }
    }

    /** Passes lines through to {@code target} except ND4J's {@code Added differentiated op ...}. */
    private static final class DroppingStream extends PrintStream {

        DroppingStream(PrintStream target) {
            super(new LineFilter(target), true, Charset.defaultCharset());
        }
    }

    private static final class LineFilter extends OutputStream {
        private static final byte[] DROPPED = "Added differentiated op ".getBytes(StandardCharsets.US_ASCII);
        private final PrintStream target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineFilter(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            line.write(b);
            if (b == '\n') {
                flushLine();
            }
        }

        @Override
        public void flush() {
            flushLine();
            target.flush();
        }

        private void flushLine() {
            byte[] bytes = line.toByteArray();
            line.reset();
            if (!startsWith(bytes, DROPPED)) {
                target.write(bytes, 0, bytes.length);
            }
        }

        private static boolean startsWith(byte[] bytes, byte[] prefix) {
            if (bytes.length < prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if (bytes[i] != prefix[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
