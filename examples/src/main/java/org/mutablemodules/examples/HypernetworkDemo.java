package org.mutablemodules.examples;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
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
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/**
 * The main job: a task-conditioned hypernetwork. A family of regression tasks, sine waves
 * {@code y = a sin(x + p)} with amplitude {@code a} in [0.5, 2] and phase {@code p} in [0, pi], is generated here.
 * The target network is a plain DL4J MLP (1 -> 40 -> 40 -> 1, tanh), converted with {@link MutableNetwork}; a small
 * SameDiff hypernetwork maps a task's descriptor (a, p) to <em>all</em> of the MLP's 1,761 weights, which are
 * hot-swapped into it. Only the hypernetwork is trained, across the training tasks, with {@link GraphTrainer}: each
 * step generates the weights of 16 tasks in one batched pass and applies the MLP to each task with rank-3 matrix
 * products ({@link Model}), so a step's gradient averages 16 tasks. It is then evaluated on tasks it never saw, beside the best fixed network (the same MLP trained on all training tasks in plain DL4J). The weights
 * generated for one unseen task are baked into a plain {@code MultiLayerNetwork} and saved with DL4J's
 * {@code ModelSerializer}; a loss-curve chart is written as a PNG.
 *
 * <p>Flags: {@code --steps N} (training steps, default 2000; more trains longer), {@code --out DIR} (where the chart
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
    private static final int HYPER_HIDDEN = 64;
    /** Tasks per training step: the hypernetwork generates their weights in one batched pass. */
    static final int TASKS_PER_STEP = 16;
    /** Adam's learning rate at the first step; it decays exponentially to a tenth of this by the last. */
    private static final double LEARNING_RATE = 2e-3;
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
        ExampleArguments a = ExampleArguments.parse(args, List.of("--steps", "--out"), List.of("--require-cuda"),
                "[--steps N] [--out DIR] [--require-cuda]");
        if (a.flag("--require-cuda")) {
            BackendInfo.requireCuda();
        }
        run(a.integer("--steps", 2000), a.path("--out", Path.of("hypernetwork-output")), System.out);
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
     * @param steps     training steps ({@value #TASKS_PER_STEP} tasks each) for the hypernetwork and for the baseline
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

        Model model = Model.build(DataType.FLOAT, HIDDEN, HYPER_HIDDEN, TASKS_PER_STEP);
        MutableNetwork mutable = model.mutable();
        out.printf(Locale.ROOT, "The MLP's %d weights are generated by the hypernetwork; %s is now %s%n",
                model.size(), model.generated()[0], mutable.graph().param(model.generated()[0]).history());
        out.printf(Locale.ROOT, "Each step trains on %d tasks at once: weights [%d, %d], one batched pass%n",
                TASKS_PER_STEP, TASKS_PER_STEP, model.size());

        // Trains the hypernetwork's variables, the only ones the batched loss depends on; returns each step's loss.
        GraphTrainer trainer = GraphTrainer.builder(mutable.graph()).loss(Model.BATCH_LOSS)
                .updater(new Adam(new ExponentialSchedule(ScheduleType.ITERATION, LEARNING_RATE, Math.pow(0.1, 1.0 / steps))))
                .build();

        double untrainedUnseen = meanMse(unseen, t -> hyperMse(mutable, x, t));
        double[] hyperCurve = new double[steps];
        double[] baselineCurve = new double[steps];
        MultiLayerNetwork baseline = mlp(1, DataType.FLOAT, HIDDEN);
        INDArray xs = Nd4j.tile(x.reshape(1, POINTS, 1), TASKS_PER_STEP, 1, 1);
        INDArray baselineX = xs.reshape(TASKS_PER_STEP * POINTS, 1);
        List<Task> order = new ArrayList<>(train);
        // A terminal redraws the bar in place; a log file or a pipe gets a whole line every few seconds instead of
        // carriage returns that add up to one endless line.
        boolean terminal = System.console() != null;
        ProgressBarBuilder progress = new ProgressBarBuilder().setTaskName("Training").setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(terminal ? new ConsoleProgressBarConsumer(out) : new DelegatingProgressBarConsumer(
                        out::println))
                .setUpdateIntervalMillis(terminal ? 250 : 5000);
        try (ProgressBar bar = progress.build()) {
            double ema = Double.NaN;
            for (int step = 0; step < steps; step++) {
                // TASKS_PER_STEP different tasks per step, every training task once per pass over them
                int first = (step * TASKS_PER_STEP) % order.size();
                if (first == 0) {
                    Collections.shuffle(order, random);
                }
                List<Task> batch = order.subList(first, first + TASKS_PER_STEP);
                INDArray ys = Nd4j.concat(0, batch.stream().map(t -> t.targets(x).reshape(1, POINTS, 1))
                        .toArray(INDArray[]::new));
                INDArray descriptors = Nd4j.concat(0, batch.stream().map(Task::descriptor).toArray(INDArray[]::new));
                double loss = trainer.step(Map.of(Model.TASKS, descriptors, Model.XS, xs, Model.YS, ys));
                baseline.fit(baselineX, ys.reshape(TASKS_PER_STEP * POINTS, 1));
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
            Path saved = outputDir.resolve("baked-unseen-task.zip");
            ModelSerializer.writeModel(baked, saved.toFile(), false);
            MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(saved.toFile());
            double graphMse = hyperMse(mutable, x, bakedTask);
            double savedMse = dl4jMse(restored, x, bakedTask);
            out.printf(Locale.ROOT, "Baked the weights for unseen task a=%.3f p=%.3f into %s: plain DL4J MSE %.5f "
                    + "(graph: %.5f)%n", bakedTask.a(), bakedTask.p(), saved, savedMse, graphMse);
            out.println("Loss curves: " + chart);
            return new Result(hyperTrain, hyperUnseen, untrainedUnseen, baselineTrain, baselineUnseen, graphMse,
                    savedMse, model.size(), chart, saved);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write the results to " + outputDir, e);
        }
    }

    /**
     * The graph: the target MLP converted by {@link MutableNetwork}, the hypernetwork, and two ways of using it.
     *
     * <ul>
     *   <li><b>One task</b> (evaluation, baking): placeholder {@code task} [1, 2] -> hypernetwork -> [1, size] ->
     *       {@code setFromFlat} into the converted network's parameters, so {@code mutable.output(x, task)} and
     *       {@code toMultiLayerNetwork} use the generated weights.</li>
     *   <li><b>K tasks at once</b> (training): placeholder {@value #TASKS} [K, 2] -> the same hypernetwork variables
     *       -> [K, size], cut into per-task parameters ({@code W} [K, nIn, nOut], {@code b} [K, 1, nOut], in the order
     *       and layout {@code setFromFlat} uses); the MLP is applied to every task by rank-3 matrix products of
     *       {@value #XS} [K, points, 1], giving {@value #BATCH_OUTPUT} [K, points, 1]. {@value #BATCH_LOSS} is the
     *       mean squared error against {@value #YS} [K, points, 1]: the mean of the K tasks' losses.</li>
     * </ul>
     */
    record Model(MutableNetwork mutable, String[] generated, long size, int tasksPerStep) {

        static final String TASKS = "batch/tasks";
        static final String XS = "batch/x";
        static final String YS = "batch/y";
        static final String BATCH_OUTPUT = "batch/output";
        static final String BATCH_LOSS = "batch/loss";

        /**
         * Builds the graph for an MLP 1 -> hidden -> hidden -> 1 and a hypernetwork 2 -> hyperHidden (tanh) -> every
         * weight; its output bias starts at the MLP's own initial weights, so training starts from a sensible network.
         */
        static Model build(DataType type, int hidden, int hyperHidden, int tasksPerStep) {
            MutableNetwork mutable = MutableNetwork.of(mlp(1, type, hidden));
            SameDiff sd = mutable.graph().sameDiff();
            String[] generated = mutable.graph().parameterNames().toArray(new String[0]);
            long size = mutable.graph().flatSize(generated);
            Nd4j.getRandom().setSeed(7);
            SDVariable w1 = sd.var("hyper/W1", Nd4j.randn(type, 2, hyperHidden));
            SDVariable b1 = sd.var("hyper/b1", Nd4j.zeros(type, hyperHidden));
            SDVariable w2 = sd.var("hyper/W2", Nd4j.randn(type, hyperHidden, size).muli(0.01));
            SDVariable b2 = sd.var("hyper/b2", initialWeights(sd, generated).castTo(type));

            SDVariable task = sd.placeHolder("task", type, 1, 2);
            SDVariable flat = sd.math().tanh(task.mmul(w1).add(b1)).mmul(w2).add("hyper/weights", b2);
            mutable.graph().setFromFlat(flat, generated);

            SDVariable tasks = sd.placeHolder(TASKS, type, tasksPerStep, 2);
            SDVariable flats = sd.math().tanh(tasks.mmul(w1).add(b1)).mmul(w2).add("batch/weights", b2);
            Map<String, SDVariable> perTask = new HashMap<>();
            int offset = 0;
            for (String name : generated) {
                long[] shape = mutable.graph().param(name).shape();
                int length = (int) mutable.graph().flatSize(name);
                long rows = shape.length == 2 ? shape[0] : 1;
                SDVariable piece = sd.slice(flats, new int[] {0, offset}, new int[] {tasksPerStep, length});
                perTask.put(name, sd.reshape(piece, tasksPerStep, rows, length / rows));
                offset += length;
            }
            SDVariable a = sd.placeHolder(XS, type, tasksPerStep, -1, 1);
            int layers = generated.length / 2;
            for (int l = 0; l < layers; l++) {
                SDVariable z = a.mmul(perTask.get("layer" + l + "/W")).add(perTask.get("layer" + l + "/b"));
                a = l < layers - 1 ? sd.math().tanh(z) : z;
            }
            sd.updateVariableNameAndReference(a, BATCH_OUTPUT, true);
            SDVariable ys = sd.placeHolder(YS, type, tasksPerStep, -1, 1);
            sd.math().square(a.sub(ys)).mean(BATCH_LOSS);
            return new Model(mutable, generated, size, tasksPerStep);
        }
    }

    private static List<Task> tasks(Random r, int n) {
        List<Task> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(new Task(0.5 + 1.5 * r.nextDouble(), Math.PI * r.nextDouble()));
        }
        return tasks;
    }

    /** The target network, 1 -> hidden -> hidden -> 1 (tanh), as a plain DL4J MLP. */
    static MultiLayerNetwork mlp(long seed, DataType type, int hidden) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
                .dataType(type).weightInit(WeightInit.XAVIER).updater(new Adam(1e-3)).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(hidden).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(hidden).activation(Activation.TANH).build())
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
        chart.getStyler().setXAxisDecimalPattern("#");     // 1000, not 1,000 (the labels ran together)
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
