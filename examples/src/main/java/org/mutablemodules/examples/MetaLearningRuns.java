package org.mutablemodules.examples;

import java.awt.Color;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the MAML examples ({@link MamlSine}, {@link MamlFewShot}) share: a meta-batch's tasks as the placeholders'
 * values, the pooled examples a pre-trained baseline learns from, moving averages, and the chart of the learners'
 * training losses. A task is {@code [support x, support y, query x, query y]}.
 */
final class MetaLearningRuns {

    /** The parts of a task, as the placeholders of task {@code t} are named: {@code task<t>/<part>}. */
    static final String[] PARTS = {"support_x", "support_y", "query_x", "query_y"};

    /** Second order, first order, baseline: the same colour in every panel of a chart. */
    static final Color[] COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44)};

    private MetaLearningRuns() {
    }

    /** The placeholders' values for a meta-batch of tasks. */
    static Map<String, INDArray> feed(List<INDArray[]> tasks) {
        Map<String, INDArray> feed = new HashMap<>();
        for (int i = 0; i < tasks.size(); i++) {
            for (int p = 0; p < PARTS.length; p++) {
                feed.put("task" + i + "/" + PARTS[p], tasks.get(i)[p]);
            }
        }
        return feed;
    }

    /** Every example of the batch, support and query, as one minibatch: {@code [x, y]}. */
    static INDArray[] pooled(List<INDArray[]> batch) {
        List<INDArray> xs = new ArrayList<>();
        List<INDArray> ys = new ArrayList<>();
        for (INDArray[] task : batch) {
            xs.add(task[0]);
            xs.add(task[2]);
            ys.add(task[1]);
            ys.add(task[3]);
        }
        return new INDArray[] {Nd4j.concat(0, xs.toArray(new INDArray[0])), Nd4j.concat(0, ys.toArray(new INDArray[0]))};
    }

    /** One learner's step on a meta-batch of tasks, returning its loss before the step. */
    @FunctionalInterface
    interface Learner {
        double step(List<INDArray[]> batch);
    }

    /**
     * What meta-training measured: each learner's loss at every step (second order, first order, baseline) and the
     * mean milliseconds of a second- and of a first-order meta-step.
     */
    record Training(double[][] curves, double[] millis) {
    }

    /**
     * Trains the three learners on the same {@code steps} meta-batches, timing the two MAML variants, and prints
     * their moving-average losses ten times along the way and the time per step at the end.
     */
    static Training train(int steps, Supplier<List<INDArray[]>> batches, Learner second, Learner first,
                          Learner baseline, int window, PrintStream out) {
        double[][] curves = new double[3][steps];
        double[] millis = new double[2];
        int tasks = 0;
        for (int s = 0; s < steps; s++) {
            List<INDArray[]> batch = batches.get();
            tasks = batch.size();
            long t0 = System.nanoTime();
            curves[0][s] = second.step(batch);
            long t1 = System.nanoTime();
            curves[1][s] = first.step(batch);
            long t2 = System.nanoTime();
            millis[0] += (t1 - t0) / 1e6;
            millis[1] += (t2 - t1) / 1e6;
            curves[2][s] = baseline.step(batch);
            if ((s + 1) % Math.max(1, steps / 10) == 0 || s == steps - 1) {
                out.printf(Locale.ROOT, "meta-step %d/%d: query loss after adaptation %.4f (2nd order), %.4f (1st "
                        + "order); pre-training loss %.4f%n", s + 1, steps, movingMean(curves[0], s, window),
                        movingMean(curves[1], s, window), movingMean(curves[2], s, window));
            }
        }
        millis[0] /= steps;
        millis[1] /= steps;
        out.printf(Locale.ROOT, "One meta-step of %d tasks: %.1f ms (second order), %.1f ms (first order)%n", tasks,
                millis[0], millis[1]);
        return new Training(curves, millis);
    }

    /** The mean of the last (up to) {@code window} values up to {@code s}. */
    static double movingMean(double[] values, int s, int window) {
        double sum = 0;
        int from = Math.max(0, s - window + 1);
        for (int i = from; i <= s; i++) {
            sum += values[i];
        }
        return sum / (s - from + 1);
    }

    /** The three learners' training curves, each a moving average of {@code window} steps. */
    static XYChart lossChart(double[][] curves, String[] names, String yTitle, int window) {
        XYChart losses = new XYChartBuilder().width(700).height(480)
                .title("Meta-training (moving average of " + window + ")").xAxisTitle("meta-step").yAxisTitle(yTitle)
                .build();
        losses.getStyler().setXAxisDecimalPattern("#");
        losses.getStyler().setXAxisMaxLabelCount(6);
        losses.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        int steps = curves[0].length;
        double[] x = new double[steps];
        for (int i = 0; i < steps; i++) {
            x[i] = i + 1;
        }
        for (int n = 0; n < curves.length; n++) {
            double[] smooth = new double[steps];
            for (int i = 0; i < steps; i++) {
                smooth[i] = Math.max(movingMean(curves[n], i, window), 1e-6);
            }
            losses.addSeries(names[n], x, smooth).setMarker(SeriesMarkers.NONE).setLineColor(COLORS[n]);
        }
        return losses;
    }
}
