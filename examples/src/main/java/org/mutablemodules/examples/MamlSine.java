package org.mutablemodules.examples;

import java.awt.Color;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
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
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Second-order meta-learning (MAML, Finn et al. 2017) through mutable parameters, on the sine-wave regression of the
 * MAML paper: tasks {@code y = a sin(x - p)}, amplitude a in [0.1, 5], phase p in [0, pi], inputs in [-5, 5], 10
 * examples per task (K = 10). The network is a plain DL4J MLP 1-40-40-1 (ReLU) converted with {@link MutableNetwork}.
 *
 * <p>One meta-step, for each of {@value #META_BATCH} tasks: the inner step {@code W' = W - alpha dL_support/dW}
 * ({@link MutableNetwork#lossGradients}, gradient expressions of the graph), then the loss of the adapted network on
 * the task's query points ({@link MutableNetwork#loss} with the adapted values in place of the parameters); SameDiff
 * differentiates the mean query loss down to the original W, through the inner step: exact second-order MAML. The
 * first-order variant stops the gradient of the inner gradients. Both are compared with a network pre-trained on all
 * tasks in plain DL4J, after the same adaptation (inner steps on 10 examples of each unseen task); a PNG shows the
 * loss curves and a few adapted fits.
 *
 * <p>Flags: {@code --steps N} (meta-steps, default 2000), {@code --inner-steps K} (inner gradient steps in training
 * and at adaptation, default 1), {@code --out DIR} (where the chart goes, default {@code maml-output}).
 */
public final class MamlSine {

    /**
     * What a run measured: the mean squared error on the unseen tasks after adaptation for second-order MAML,
     * first-order MAML and the pre-trained network, the same before adaptation, the milliseconds per meta-step, and
     * the chart.
     */
    public record Result(double secondOrderMse, double firstOrderMse, double pretrainedMse,
                         double secondOrderUnadapted, double firstOrderUnadapted, double pretrainedUnadapted,
                         double secondOrderStepMillis, double firstOrderStepMillis, Path chart) {
    }

    static final int HIDDEN = 40;
    /** Examples per task in the support set (K) and in the query set of a meta-step. */
    static final int K = 10;
    /** Tasks per meta-step. */
    static final int META_BATCH = 10;
    static final double INNER_RATE = 0.01;
    static final double META_RATE = 1e-3;
    private static final int UNSEEN_TASKS = 100;
    private static final int EVALUATION_POINTS = 100;
    private static final DataType TYPE = DataType.FLOAT;

    private MamlSine() {
    }

    /**
     * Runs the example.
     *
     * @param args {@code [--steps N] [--inner-steps K] [--out DIR]}
     */
    public static void main(String[] args) {
        NativeThreads.limit(1);        // small matrices: ND4J's spinning native pools only slow the JVM down
        ExampleArguments a = ExampleArguments.parse(args, List.of("--steps", "--inner-steps", "--out"), List.of(),
                "[--steps N] [--inner-steps K] [--out DIR]");
        run(a.integer("--steps", 2000), a.integer("--inner-steps", 1), a.path("--out", Path.of("maml-output")),
                System.out);
    }

    /** A sine task {@code y = a sin(x - p)}. */
    record Task(double amplitude, double phase) {
        static Task sample(Random r) {
            return new Task(0.1 + 4.9 * r.nextDouble(), Math.PI * r.nextDouble());
        }

        INDArray targets(INDArray x) {
            return Transforms.sin(x.sub(phase)).muli(amplitude);
        }
    }

    /** {@code n} inputs drawn uniformly from [-5, 5], as [n, 1]. */
    static INDArray inputs(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (10 * r.nextDouble() - 5);
        }
        return Nd4j.createFromArray(x).reshape(n, 1);
    }

    /**
     * Meta-trains second- and first-order MAML and pre-trains the baseline, then evaluates the three on unseen
     * tasks and writes the chart.
     *
     * @param steps      meta-steps for each MAML variant, and training steps (of {@value #META_BATCH} tasks) for
     *                   the pre-trained network
     * @param innerSteps inner gradient steps, in meta-training and at adaptation
     * @param outputDir  where to write {@code maml-sine.png}
     * @param out        where to print progress and results
     * @return the measurements
     */
    public static Result run(int steps, int innerSteps, Path outputDir, PrintStream out) {
        return run(steps, innerSteps, UNSEEN_TASKS, outputDir, out);
    }

    /** {@link #run(int, int, Path, PrintStream)} evaluated on {@code unseenTasks} tasks (a short run for tests). */
    static Result run(int steps, int innerSteps, int unseenTasks, Path outputDir, PrintStream out) {
        out.println("ND4J: " + BackendCheck.describe());
        MetaLearner second = new MetaLearner(mlp(), innerSteps, true);
        MetaLearner first = new MetaLearner(mlp(), innerSteps, false);
        MultiLayerNetwork pretrained = mlp();
        out.printf(Locale.ROOT, "MAML on sine tasks: MLP 1-%d-%d-1 (ReLU), K=%d, %d tasks per meta-step, %d inner "
                + "step(s) of rate %s, Adam %s, %d meta-steps%n", HIDDEN, HIDDEN, K, META_BATCH, innerSteps,
                INNER_RATE, META_RATE, steps);

        Random tasks = new Random(2017);
        MetaLearningRuns.Training training = MetaLearningRuns.train(steps, () -> {
            List<INDArray[]> batch = new ArrayList<>();
            for (int t = 0; t < META_BATCH; t++) {
                Task task = Task.sample(tasks);
                INDArray x = inputs(tasks, 2 * K);
                INDArray y = task.targets(x);
                batch.add(new INDArray[] {x.get(range(0, K)), y.get(range(0, K)), x.get(range(K, 2 * K)),
                        y.get(range(K, 2 * K))});
            }
            return batch;
        }, second::step, first::step, batch -> pretrain(pretrained, batch), 100, out);
        double[][] curves = training.curves();
        double[] millis = training.millis();

        Adapter[] adapters = {new Adapter(second.network(), innerSteps), new Adapter(first.network(), innerSteps),
                new Adapter(MutableNetwork.of(pretrained), innerSteps)};
        String[] names = {"MAML, second order", "MAML, first order", "pre-trained on all tasks"};
        Random unseen = new Random(7);
        double[][] mse = new double[3][2];
        List<Fit> fits = new ArrayList<>();
        INDArray grid = Nd4j.linspace(-5, 5, EVALUATION_POINTS, TYPE).reshape(EVALUATION_POINTS, 1);
        for (int i = 0; i < unseenTasks; i++) {
            Task task = Task.sample(unseen);
            INDArray supportX = inputs(unseen, K);
            INDArray supportY = task.targets(supportX);
            INDArray truth = task.targets(grid);
            INDArray[] adapted = new INDArray[3];
            for (int n = 0; n < 3; n++) {
                INDArray[] before = adapters[n].predict(supportX, supportY, grid);
                mse[n][0] += meanSquaredError(before[0], truth) / unseenTasks;
                mse[n][1] += meanSquaredError(before[1], truth) / unseenTasks;
                adapted[n] = before[1];
            }
            if (i < 3) {
                fits.add(new Fit(task, supportX, supportY, truth, adapted));
            }
        }
        out.printf(Locale.ROOT, "%nMean squared error on %d unseen tasks (%d points each in [-5, 5]), adapted by %d "
                + "step(s) on %d examples:%n", unseenTasks, EVALUATION_POINTS, innerSteps, K);
        out.printf(Locale.ROOT, "%-28s %16s %16s%n", "", "before", "after adapting");
        for (int n = 0; n < 3; n++) {
            out.printf(Locale.ROOT, "%-28s %16.4f %16.4f%n", names[n], mse[n][0], mse[n][1]);
        }
        out.printf(Locale.ROOT, "Second-order MAML's error after adaptation is %.1f%% %s first-order's.%n",
                100 * Math.abs(mse[0][1] - mse[1][1]) / mse[1][1], mse[0][1] < mse[1][1] ? "below" : "above");
        Path chart;
        try {
            Files.createDirectories(outputDir);
            chart = writeChart(outputDir.resolve("maml-sine.png"), curves, names, grid, fits);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println("Chart: " + chart);
        return new Result(mse[0][1], mse[1][1], mse[2][1], mse[0][0], mse[1][0], mse[2][0], millis[0], millis[1],
                chart);
    }

    /** The network, 1 -> 40 -> 40 -> 1 (ReLU), the same initial weights for every learner. */
    static MultiLayerNetwork mlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(42)
                .dataType(TYPE).weightInit(WeightInit.XAVIER).updater(new Adam(META_RATE)).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(HIDDEN).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(HIDDEN).nOut(HIDDEN).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(HIDDEN).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        return net;
    }

    /**
     * A MAML learner: the converted network and one graph holding the meta-loss of {@value #META_BATCH} tasks,
     * trained by {@link GraphTrainer} (Adam) on the network's initial parameters.
     */
    static final class MetaLearner {
        private final MutableNetwork network;
        private final GraphTrainer trainer;

        MetaLearner(MultiLayerNetwork net, int innerSteps, boolean secondOrder) {
            network = MutableNetwork.of(net);
            SameDiff sd = network.graph().sameDiff();
            SDVariable total = null;
            for (int task = 0; task < META_BATCH; task++) {
                SDVariable[] data = new SDVariable[4];
                for (int p = 0; p < 4; p++) {
                    data[p] = sd.placeHolder("task" + task + "/" + MetaLearningRuns.PARTS[p], TYPE, -1, 1);
                }
                Map<String, SDVariable> adapted = adapt(network, data[0], data[1], innerSteps, INNER_RATE,
                        secondOrder);
                SDVariable query = network.loss(data[2], data[3], adapted);
                total = total == null ? query : total.add(query);
            }
            SDVariable metaLoss = total.div("metaLoss", META_BATCH);
            trainer = GraphTrainer.builder(network.graph()).loss(metaLoss.name()).updater(new Adam(META_RATE))
                    .build();
        }

        MutableNetwork network() {
            return network;
        }

        /** One meta-step on the tasks' [support x, support y, query x, query y]; returns the meta-loss before it. */
        double step(List<INDArray[]> tasks) {
            return trainer.step(MetaLearningRuns.feed(tasks));
        }
    }

    /**
     * The parameters after {@code steps} inner gradient steps of rate {@code rate} on the support set, as graph
     * expressions; for first order the inner gradients are constants to the meta-gradient.
     */
    static Map<String, SDVariable> adapt(MutableNetwork m, SDVariable supportX, SDVariable supportY, int steps,
                                         double rate, boolean secondOrder) {
        // README: MamlSine
        Map<String, SDVariable> adapted = new LinkedHashMap<>();     // empty: the parameters' current values
        for (int s = 0; s < steps; s++) {
            Map<String, SDVariable> gradients = m.lossGradients(supportX, supportY, adapted);
            Map<String, SDVariable> next = new LinkedHashMap<>();
            for (Map.Entry<String, SDVariable> e : gradients.entrySet()) {
                SDVariable g = secondOrder ? e.getValue()        // first order: the inner gradient is a constant
                        : new StopGradient(m.graph().sameDiff(), e.getValue()).outputVariable();
                SDVariable current = adapted.getOrDefault(e.getKey(), m.param(e.getKey()).value());
                next.put(e.getKey(), current.sub(g.mul(rate)));             // W' = W - alpha dL_support/dW
            }
            adapted = next;
        }
        // README: end
        return adapted;
    }

    /** Predictions of a network before and after adapting to a task's support set, in one graph. */
    static final class Adapter {
        private final SameDiff sd;
        private final SDVariable before;
        private final SDVariable after;
        private final String supportX;
        private final String supportY;
        private final String x;

        Adapter(MutableNetwork m, int steps) {
            sd = m.graph().sameDiff();
            SDVariable sx = sd.placeHolder(unique(sd, "adapt/support_x"), TYPE, -1, 1);
            SDVariable sy = sd.placeHolder(unique(sd, "adapt/support_y"), TYPE, -1, 1);
            SDVariable in = sd.placeHolder(unique(sd, "adapt/x"), TYPE, -1, 1);
            supportX = sx.name();
            supportY = sy.name();
            x = in.name();
            before = m.forward(in, Map.of());
            after = m.forward(in, adapt(m, sx, sy, steps, INNER_RATE, true));
        }

        /** The predictions at {@code grid} before and after adapting to the support set. */
        INDArray[] predict(INDArray sx, INDArray sy, INDArray grid) {
            Map<String, INDArray> values = sd.output(Map.of(supportX, sx, supportY, sy, x, grid), before.name(),
                    after.name());
            return new INDArray[] {values.get(before.name()), values.get(after.name())};
        }

        private static String unique(SameDiff sd, String name) {
            String n = name;
            for (int i = 1; sd.hasVariable(n); i++) {
                n = name + "_" + i;
            }
            return n;
        }
    }

    /** One pre-training step of plain DL4J on all the batch's points; returns the loss before the step. */
    private static double pretrain(MultiLayerNetwork net, List<INDArray[]> batch) {
        INDArray[] all = MetaLearningRuns.pooled(batch);
        double loss = meanSquaredError(net.output(all[0]), all[1]);
        net.fit(all[0], all[1]);
        return loss;
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex range(int from, int to) {
        return org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to);
    }

    private static double meanSquaredError(INDArray prediction, INDArray truth) {
        return Transforms.pow(prediction.sub(truth), 2).meanNumber().doubleValue();
    }

    /** A task drawn in the chart, with each learner's adapted prediction. */
    private record Fit(Task task, INDArray supportX, INDArray supportY, INDArray truth, INDArray[] adapted) {
    }

    private static Path writeChart(Path file, double[][] curves, String[] names, INDArray grid, List<Fit> fits)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<XYChart> charts = new ArrayList<>();
        charts.add(MetaLearningRuns.lossChart(curves, new String[] {names[0] + ": query loss after adaptation",
                names[1] + ": query loss after adaptation", names[2] + ": training loss"}, "MSE", 100));
        double[] gridX = grid.castTo(DataType.DOUBLE).data().asDouble();
        for (Fit fit : fits) {
            XYChart c = new XYChartBuilder().width(700).height(480).title(String.format(Locale.ROOT,
                    "Unseen task a=%.2f p=%.2f, adapted on %d examples", fit.task().amplitude(), fit.task().phase(), K))
                    .xAxisTitle("x").yAxisTitle("y").build();
            c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
            c.addSeries("true function", gridX, fit.truth().castTo(DataType.DOUBLE).data().asDouble())
                    .setMarker(SeriesMarkers.NONE).setLineColor(Color.BLACK);
            for (int n = 0; n < 3; n++) {
                c.addSeries(names[n] + ", adapted", gridX, fit.adapted()[n].castTo(DataType.DOUBLE).data().asDouble())
                        .setMarker(SeriesMarkers.NONE).setLineColor(MetaLearningRuns.COLORS[n]);
            }
            XYSeries support = c.addSeries("the " + K + " examples", fit.supportX().castTo(DataType.DOUBLE).data()
                    .asDouble(), fit.supportY().castTo(DataType.DOUBLE).data().asDouble());
            support.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            support.setMarker(SeriesMarkers.CIRCLE).setMarkerColor(Color.RED);
            charts.add(c);
        }
        String base = file.toString().replaceFirst("\\.png$", "");
        BitmapEncoder.saveBitmap(charts, 2, 2, base, BitmapEncoder.BitmapFormat.PNG);
        return new File(base + ".png").toPath();
    }
}
