package org.mutablemodules.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Long runs that look for growth (issue 12): 10,000 hypernetwork training steps (the main job's model: a task
 * descriptor -> 64 tanh -> all 1,761 weights of a converted DL4J MLP 1-40-40-1) with {@code sd.fit} and again with
 * {@link GraphTrainer}, then 10,000 mutate-then-output
 * cycles on a converted MLP (each cycle replaces a parameter's value, by an array, a function of the initial value or a
 * reset, and computes the output). Samples the Java heap after a collection, the resident set size and the graph's
 * size every {@code interval} steps, and prints start, end and the slope of a least-squares line through the second
 * half of the samples (the first half includes warm-up). Run by {@code bench/longrun.sh}.
 *
 * <p>Arguments: {@code [steps (10000)] [interval (500)]}.
 */
public final class LongRun {

    private LongRun() {
    }

    /**
     * Runs both long runs and prints their tables.
     *
     * @param args {@code [steps] [interval]}
     * @throws IOException if /proc cannot be read
     */
    public static void main(String[] args) throws IOException {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int interval = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        hypernetworkTraining(steps, interval, false);
        hypernetworkTraining(steps, interval, true);
        mutateThenOutput(steps, interval);
    }

    private static void hypernetworkTraining(int steps, int interval, boolean withTrainer) throws IOException {
        MutableNetwork m = MutableNetwork.of(Models.sineMlp());
        SameDiff sd = m.graph().sameDiff();
        String[] generated = m.graph().parameterNames().toArray(new String[0]);
        long size = m.graph().flatSize(generated);
        Nd4j.getRandom().setSeed(3);
        SDVariable task = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        SDVariable h = sd.math().tanh(task.mmul(sd.var("hyper/W1", Nd4j.randn(DataType.FLOAT, 2, 64)))
                .add(sd.var("hyper/b1", Nd4j.zeros(DataType.FLOAT, 64))));
        m.graph().setFromFlat(h.mmul(sd.var("hyper/W2", Nd4j.randn(DataType.FLOAT, 64, size).muli(0.01)))
                .add(sd.var("hyper/b2", Nd4j.randn(DataType.FLOAT, size).muli(0.05))), generated);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-3))
                .dataSetFeatureMapping(m.inputName(), "task").dataSetLabelMapping(m.labelName()).build());
        INDArray x = Nd4j.linspace(-Math.PI, Math.PI, 50, DataType.FLOAT).reshape(50, 1);
        Random random = new Random(11);
        GraphTrainer trainer = withTrainer
                ? GraphTrainer.builder(m.graph()).loss(m.lossName()).updater(new Adam(1e-3)).build() : null;
        String how = withTrainer ? "GraphTrainer.step" : "sd.fit";
        run("hypernetwork training steps (" + how + ", one task per step)", steps, interval, sd, i -> {
            float a = 0.5f + 1.5f * random.nextFloat();
            float p = (float) Math.PI * random.nextFloat();
            INDArray y = Transforms.sin(x.add(p)).muli(a);
            INDArray t = Nd4j.createFromArray(new float[][] {{a, p}});
            if (withTrainer) {
                trainer.step(Map.of(m.inputName(), x, "task", t, m.labelName(), y));
            } else {
                sd.fit(new MultiDataSet(new INDArray[] {x, t}, new INDArray[] {y}));
            }
        });
    }

    private static void mutateThenOutput(int steps, int interval) throws IOException {
        MutableNetwork m = MutableNetwork.of(Models.sineMlp());
        MutableParameter w = m.param(1, "W");
        INDArray x = Nd4j.linspace(-Math.PI, Math.PI, 50, DataType.FLOAT).reshape(50, 1);
        Random random = new Random(12);
        run("mutate-then-output cycles (set array / apply / reset, then output)", steps, interval,
                m.graph().sameDiff(), i -> {
                    switch (i % 3) {
                        case 0 -> w.set(Nd4j.rand(DataType.FLOAT, 40, 40).subi(0.5));
                        case 1 -> {
                            double scale = random.nextDouble();
                            w.reset().apply(v -> v.mul(scale));
                        }
                        default -> w.reset();
                    }
                    m.output(x);
                });
    }

    private static void run(String title, int steps, int interval, SameDiff sd, IntConsumer step) throws IOException {
        List<double[]> samples = new ArrayList<>();   // step, heap MB, RSS MB, variables, ops
        long start = System.nanoTime();
        for (int i = 0; i <= steps; i++) {
            if (i % interval == 0) {
                System.gc();
                Runtime rt = Runtime.getRuntime();
                samples.add(new double[] {i, (rt.totalMemory() - rt.freeMemory()) / 1e6, rssMegabytes(),
                    sd.getVariables().size(), sd.getOps().size()});
            }
            if (i < steps) {
                step.accept(i);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.println();
        System.out.printf(Locale.ROOT, "%s: %d steps in %.1f s%n", title, steps, seconds);
        System.out.println("| measure | at step 0 | at step " + steps + " | slope over the second half, per 1,000 steps |");
        System.out.println("| --- | --- | --- | --- |");
        String[] names = {"heap after GC (MB)", "resident set (MB)", "graph variables", "graph ops"};
        for (int k = 1; k <= 4; k++) {
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %+.2f |%n", names[k - 1], samples.get(0)[k],
                    samples.get(samples.size() - 1)[k], slope(samples.subList(samples.size() / 2, samples.size()), k));
        }
    }

    /** Least-squares slope of column {@code k} against the step, per 1,000 steps. */
    private static double slope(List<double[]> points, int k) {
        double n = points.size();
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (double[] p : points) {
            sx += p[0];
            sy += p[k];
            sxx += p[0] * p[0];
            sxy += p[0] * p[k];
        }
        return (n * sxy - sx * sy) / (n * sxx - sx * sx) * 1000;
    }

    private static double rssMegabytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
