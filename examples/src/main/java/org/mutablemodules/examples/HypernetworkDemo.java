package org.mutablemodules.examples;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.BackendCheck;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The main job: a task-conditioned hypernetwork. A family of regression tasks, sine waves
 * {@code y = a sin(x + p)} with amplitude {@code a} in [0.5, 2] and phase {@code p} in [0, pi], is generated here.
 * The target network is a plain DL4J MLP (1 -> 40 -> 40 -> 1, tanh), converted with {@link MutableNetwork}; a small
 * SameDiff hypernetwork maps a task's descriptor (a, p) to <em>all</em> of the MLP's 1,761 weights, which are
 * hot-swapped into it. Only the hypernetwork is trained, across the training tasks; it is then evaluated on tasks it
 * never saw, beside the best fixed network (the same MLP trained on all training tasks in plain DL4J). The weights
 * generated for one unseen task are baked into a plain {@code MultiLayerNetwork} and saved with DL4J's
 * {@code ModelSerializer}; a loss-curve chart is written as a PNG.
 *
 * <p>Flags: {@code --steps N} (training steps, default 4000; more trains longer), {@code --out DIR} (where the chart
 * and the model go, default {@code hypernetwork-output}), {@code --require-cuda} (refuse to run on the CPU).
 */
public final class HypernetworkDemo {

    /**
     * What a run measured: mean squared errors on the training and unseen tasks, for the trained hypernetwork, the
     * untrained one and the fixed baseline; the baked network's error on its task; and the files written.
     */
    public record Result(double hyperTrain, double hyperUnseen, double untrainedUnseen, double baselineTrain,
                         double baselineUnseen, double bakedTaskGraphMse, double bakedTaskSavedMse,
                         long generatedWeights, Path chart, Path model) {
    }

    private static final int HIDDEN = 40;
    private static final int POINTS = 50;
    private static final int TRAIN_TASKS = 48;
    private static final int UNSEEN_TASKS = 12;

    private HypernetworkDemo() {
    }

    /**
     * Runs the main job.
     *
     * @param args {@code [--steps N] [--out DIR] [--require-cuda]}
     */
    public static void main(String[] args) {
        // One native thread: on a small model ND4J's default pools (one thread per core each for libnd4j and
        // OpenBLAS) spin on the cores the JVM needs, and steps become slow and erratic (BENCHMARKS.md).
        NativeThreads.limit(1);
        int steps = 4000;
        Path out = Path.of("hypernetwork-output");
        for (int i = 0; i < args.length; i++) {
            if ("--steps".equals(args[i]) && i + 1 < args.length) {
                steps = Integer.parseInt(args[++i]);
            } else if ("--out".equals(args[i]) && i + 1 < args.length) {
                out = Path.of(args[++i]);
            } else if ("--require-cuda".equals(args[i])) {
                BackendInfo.requireCuda();
            } else {
                throw new IllegalArgumentException("Unknown argument \"" + args[i]
                        + "\"; usage: [--steps N] [--out DIR] [--require-cuda]");
            }
        }
        run(steps, out, System.out);
    }

    /** One regression task: a sine wave of amplitude {@code a} and phase {@code p}. */
    record Task(double a, double p) {
        INDArray descriptor() {
            // centred and scaled so that the hypernetwork sees inputs of order 1
            return Nd4j.createFromArray(new float[][] {{(float) (a - 1.25), (float) (p - Math.PI / 2)}});
        }

        INDArray targets(INDArray x) {
            return Transforms.sin(x.add(p)).muli(a);
        }
    }

    /**
     * Builds, trains and evaluates the hypernetwork and the baseline, writes the chart and the baked model.
     *
     * @param steps     training steps (one task each) for the hypernetwork and for the baseline
     * @param outputDir where to write {@code loss-curve.png} and {@code baked-unseen-task.zip}
     * @param out       where to print progress and results
     * @return the measurements
     */
    public static Result run(int steps, Path outputDir, PrintStream out) {
        out.println("ND4J: " + BackendCheck.describe());
        Random random = new Random(2024);
        List<Task> train = tasks(random, TRAIN_TASKS);
        List<Task> unseen = tasks(new Random(99), UNSEEN_TASKS);
        INDArray x = Nd4j.linspace(-Math.PI, Math.PI, POINTS, DataType.FLOAT).reshape(POINTS, 1);

        // The target network: a plain DL4J MLP, made mutable.
        MultiLayerNetwork target = mlp(1);
        MutableNetwork mutable = MutableNetwork.of(target);
        SameDiff sd = mutable.graph().sameDiff();
        String[] generated = mutable.graph().parameterNames().toArray(new String[0]);
        long size = mutable.graph().flatSize(generated);

        // The hypernetwork: task descriptor [1, 2] -> 64 tanh -> every weight of the MLP. Its output bias starts at
        // the MLP's own initial weights (flattened in the same order), so training starts from a sensible network.
        Nd4j.getRandom().setSeed(7);
        SDVariable task = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        SDVariable hidden = sd.math().tanh(task.mmul(sd.var("hyper/W1", Nd4j.randn(DataType.FLOAT, 2, 64)))
                .add(sd.var("hyper/b1", Nd4j.zeros(DataType.FLOAT, 64))));
        SDVariable flat = hidden.mmul(sd.var("hyper/W2", Nd4j.randn(DataType.FLOAT, 64, size).muli(0.01)))
                .add("hyper/weights", sd.var("hyper/b2", initialWeights(sd, generated)));
        mutable.graph().setFromFlat(flat, generated);
        out.printf(Locale.ROOT, "The MLP's %d weights are generated by the hypernetwork; %s is now %s%n",
                size, generated[0], mutable.graph().param(generated[0]).history());

        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(4e-4))
                .dataSetFeatureMapping(mutable.inputName(), "task").dataSetLabelMapping(mutable.labelName()).build());
        Quiet.run(sd::createGradFunction);     // ND4J prints a line per op while it builds it

        double untrainedUnseen = meanMse(unseen, t -> hyperMse(mutable, x, t));
        double[] hyperCurve = new double[steps];
        double[] baselineCurve = new double[steps];
        MultiLayerNetwork baseline = mlp(1);
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("Training").setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(out))
                .setUpdateIntervalMillis(250).build()) {
            double ema = Double.NaN;
            for (int step = 0; step < steps; step++) {
                Task t = train.get(random.nextInt(train.size()));
                INDArray y = t.targets(x);
                // The loss on this batch before the update, measured with output(): the History that fit
                // returns reports every loss as 0 in ND4J 1.0.0-M2.1.
                Map<String, INDArray> feed = Map.of(mutable.inputName(), x, "task", t.descriptor(),
                        mutable.labelName(), y);
                double loss = sd.output(feed, mutable.lossName()).get(mutable.lossName()).getDouble(0);
                sd.fit(new MultiDataSet(new INDArray[] {x, t.descriptor()}, new INDArray[] {y}));
                baseline.fit(x, y);
                ema = Double.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
                hyperCurve[step] = loss;
                baselineCurve[step] = baseline.score();
                bar.step();
                bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", ema));
            }
        }

        double hyperTrain = meanMse(train, t -> hyperMse(mutable, x, t));
        double hyperUnseen = meanMse(unseen, t -> hyperMse(mutable, x, t));
        double baselineTrain = meanMse(train, t -> dl4jMse(baseline, x, t));
        double baselineUnseen = meanMse(unseen, t -> dl4jMse(baseline, x, t));
        out.println();
        out.println("Mean squared error (lower is better)   training tasks   unseen tasks");
        out.printf(Locale.ROOT, "hypernetwork, untrained                %14s %14.5f%n", "", untrainedUnseen);
        out.printf(Locale.ROOT, "hypernetwork, trained                  %14.5f %14.5f%n", hyperTrain, hyperUnseen);
        out.printf(Locale.ROOT, "best fixed network (plain DL4J)        %14.5f %14.5f%n", baselineTrain, baselineUnseen);

        try {
            Files.createDirectories(outputDir);
            Path chart = writeChart(outputDir.resolve("loss-curve.png"), hyperCurve, baselineCurve);
            Task bakedTask = unseen.get(0);
            MultiLayerNetwork baked = mutable.toMultiLayerNetwork(Map.of("task", bakedTask.descriptor()));
            Path model = outputDir.resolve("baked-unseen-task.zip");
            ModelSerializer.writeModel(baked, model.toFile(), false);
            MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(model.toFile());
            double graphMse = hyperMse(mutable, x, bakedTask);
            double savedMse = dl4jMse(restored, x, bakedTask);
            out.printf(Locale.ROOT, "Baked the weights for unseen task a=%.3f p=%.3f into %s: plain DL4J MSE %.5f "
                    + "(graph: %.5f)%n", bakedTask.a(), bakedTask.p(), model, savedMse, graphMse);
            out.println("Loss curves: " + chart);
            return new Result(hyperTrain, hyperUnseen, untrainedUnseen, baselineTrain, baselineUnseen, graphMse,
                    savedMse, size, chart, model);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write the results to " + outputDir, e);
        }
    }

    private static List<Task> tasks(Random r, int n) {
        List<Task> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(new Task(0.5 + 1.5 * r.nextDouble(), Math.PI * r.nextDouble()));
        }
        return tasks;
    }

    private static MultiLayerNetwork mlp(long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).updater(new Adam(1e-3)).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(HIDDEN).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.feedForward(1))
                .build());
        net.init();
        return net;
    }

    /** The parameters' current values, flattened in 'c' order one after the other, as setFromFlat cuts them. */
    private static INDArray initialWeights(SameDiff sd, String[] names) {
        Map<String, INDArray> values = sd.output(new HashMap<>(), names);
        INDArray[] flat = new INDArray[names.length];
        for (int i = 0; i < names.length; i++) {
            flat[i] = values.get(names[i]).dup('c').reshape(-1);
        }
        return Nd4j.concat(0, flat);
    }

    private static double hyperMse(MutableNetwork m, INDArray x, Task t) {
        INDArray prediction = m.output(x, Map.of("task", t.descriptor()));
        return Transforms.pow(prediction.sub(t.targets(x)), 2).meanNumber().doubleValue();
    }

    private static double dl4jMse(MultiLayerNetwork net, INDArray x, Task t) {
        return Transforms.pow(net.output(x).sub(t.targets(x)), 2).meanNumber().doubleValue();
    }

    private static double meanMse(List<Task> tasks, ToDoubleFunction<Task> mse) {
        return tasks.stream().mapToDouble(mse).average().orElseThrow();
    }

    private static Path writeChart(Path file, double[] hyper, double[] baseline) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(500).title("Training loss (moving average)")
                .xAxisTitle("step").yAxisTitle("MSE").build();
        chart.getStyler().setYAxisLogarithmic(true);
        double[] steps = new double[hyper.length];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = i + 1;
        }
        chart.addSeries("hypernetwork (task-conditioned)", steps, smooth(hyper)).setMarker(SeriesMarkers.NONE);
        chart.addSeries("fixed network (plain DL4J)", steps, smooth(baseline)).setMarker(SeriesMarkers.NONE);
        String base = file.toString().replaceFirst("\\.png$", "");
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
        return new File(base + ".png").toPath();
    }

    private static double[] smooth(double[] values) {
        double[] out = new double[values.length];
        double ema = values.length == 0 ? 0 : values[0];
        for (int i = 0; i < values.length; i++) {
            ema = 0.98 * ema + 0.02 * values[i];
            out[i] = Math.max(ema, 1e-9);      // the axis is logarithmic
        }
        return out;
    }
}
