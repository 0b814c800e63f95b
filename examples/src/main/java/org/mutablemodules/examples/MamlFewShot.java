package org.mutablemodules.examples;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
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

/**
 * Second-order MAML for few-shot image classification with a convolutional network, as the MAML paper's Omniglot
 * experiments: {@value #WAYS}-way {@value #SHOTS}-shot tasks of synthetic {@value #SIZE}x{@value #SIZE} images. Each
 * class is a random pattern of strokes (drawn once, {@value #TRAINING_CLASSES} classes for meta-training and
 * {@value #UNSEEN_CLASSES} others never seen in training); an example of a class is its pattern shifted by up to one
 * pixel, plus noise; a task draws {@value #WAYS} classes and gives them the labels 0 to {@value #WAYS} - 1 in a random
 * order, so that only adapting to the task's few examples can tell them apart.
 *
 * <p>The network is a plain DL4J one converted with {@link MutableNetwork}: two blocks of 3x3 convolution (8
 * channels, Same), ReLU and 2x2 max pooling, then a softmax layer. A meta-step adapts it to each of
 * {@value #META_BATCH} tasks by {@link MutableNetwork#lossGradients} steps on the support set (one example per class)
 * and differentiates the mean query loss (cross-entropy) through them down to the original weights: exact
 * second-order MAML; first order stops the inner gradients' own gradients. Both are compared with the same network
 * pre-trained in plain DL4J on the training tasks, adapted the same way. A PNG shows the meta-training losses and the
 * accuracy on unseen tasks before and after adaptation.
 *
 * <p>Flags: {@code --steps N} (meta-steps, default 400), {@code --out DIR} (where the chart goes, default
 * {@code maml-output}).
 */
public final class MamlFewShot {

    /**
     * What a run measured: the accuracy on the unseen tasks' query examples after adaptation for second-order MAML,
     * first-order MAML and the pre-trained network, the same before adaptation, the milliseconds per meta-step, and
     * the chart.
     */
    public record Result(double secondOrderAccuracy, double firstOrderAccuracy, double pretrainedAccuracy,
                         double secondOrderUnadapted, double firstOrderUnadapted, double pretrainedUnadapted,
                         double secondOrderStepMillis, double firstOrderStepMillis, Path chart) {
    }

    static final int SIZE = 12;
    static final int WAYS = 5;
    static final int SHOTS = 1;
    /** Query examples per class, in meta-training and in evaluation. */
    static final int QUERIES = 3;
    static final int META_BATCH = 4;
    static final int INNER_STEPS = 1;
    static final double INNER_RATE = 0.4;
    static final double META_RATE = 5e-3;
    static final int TRAINING_CLASSES = 200;
    static final int UNSEEN_CLASSES = 100;
    private static final int UNSEEN_TASKS = 200;
    private static final DataType TYPE = DataType.FLOAT;

    private MamlFewShot() {
    }

    /**
     * Runs the example.
     *
     * @param args {@code [--steps N] [--out DIR]}
     */
    public static void main(String[] args) {
        NativeThreads.limit(1);        // small arrays: ND4J's spinning native pools only slow the JVM down
        ExampleArguments a = ExampleArguments.parse(args, List.of("--steps", "--out"), List.of(),
                "[--steps N] [--out DIR]");
        run(a.integer("--steps", 400), UNSEEN_TASKS, a.path("--out", Path.of("maml-output")), System.out);
    }

    /**
     * Meta-trains second- and first-order MAML and pre-trains the baseline, then evaluates the three on tasks of
     * unseen classes and writes the chart.
     *
     * @param steps       meta-steps for each MAML variant, and training steps (of {@value #META_BATCH} tasks) for the
     *                    pre-trained network
     * @param unseenTasks tasks of unseen classes to evaluate on
     * @param outputDir   where to write {@code maml-fewshot.png}
     * @param out         where to print progress and results
     * @return the measurements
     */
    public static Result run(int steps, int unseenTasks, Path outputDir, PrintStream out) {
        out.println("ND4J: " + BackendCheck.describe());
        Random random = new Random(2017);
        Alphabet seen = new Alphabet(TRAINING_CLASSES, random);
        Alphabet unseen = new Alphabet(UNSEEN_CLASSES, random);
        MetaLearner second = new MetaLearner(network(), true);
        MetaLearner first = new MetaLearner(network(), false);
        MultiLayerNetwork pretrained = network();
        out.printf(Locale.ROOT, "MAML on %d-way %d-shot tasks of %dx%d images: 2 x (conv 3x3, ReLU, max pool 2x2), "
                + "softmax; %d tasks per meta-step, %d inner step(s) of rate %s, Adam %s, %d meta-steps%n", WAYS,
                SHOTS, SIZE, SIZE, META_BATCH, INNER_STEPS, INNER_RATE, META_RATE, steps);
        MetaLearningRuns.Training training = MetaLearningRuns.train(steps, () -> {
            List<INDArray[]> batch = new ArrayList<>();
            for (int t = 0; t < META_BATCH; t++) {
                batch.add(seen.task(random));
            }
            return batch;
        }, second::step, first::step, batch -> pretrain(pretrained, batch), 50, out);
        double[][] curves = training.curves();
        double[] millis = training.millis();

        MutableNetwork[] learners = {second.network(), first.network(), MutableNetwork.of(pretrained)};
        String[] names = {"MAML, second order", "MAML, first order", "pre-trained"};
        double[][] accuracy = new double[3][2];
        Random evaluation = new Random(7);
        for (int n = 0; n < 3; n++) {
            Adapter adapter = new Adapter(learners[n]);
            Random draws = new Random(evaluation.nextLong());
            for (int i = 0; i < unseenTasks; i++) {
                INDArray[] task = unseen.task(draws);
                INDArray[] predictions = adapter.predict(task[0], task[1], task[2]);
                accuracy[n][0] += accuracy(predictions[0], task[3]) / unseenTasks;
                accuracy[n][1] += accuracy(predictions[1], task[3]) / unseenTasks;
            }
        }
        out.printf(Locale.ROOT, "%nAccuracy on %d tasks of unseen classes (%d query examples each; chance %.2f), "
                + "adapted by %d step(s) on %d example(s) per class:%n", unseenTasks, WAYS * QUERIES, 1.0 / WAYS,
                INNER_STEPS, SHOTS);
        out.printf(Locale.ROOT, "%-22s %16s %16s%n", "", "before", "after adapting");
        for (int n = 0; n < 3; n++) {
            out.printf(Locale.ROOT, "%-22s %16.3f %16.3f%n", names[n], accuracy[n][0], accuracy[n][1]);
        }
        Path chart;
        try {
            Files.createDirectories(outputDir);
            chart = writeChart(outputDir.resolve("maml-fewshot.png"), curves, names, accuracy);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println("Chart: " + chart);
        return new Result(accuracy[0][1], accuracy[1][1], accuracy[2][1], accuracy[0][0], accuracy[1][0],
                accuracy[2][0], millis[0], millis[1], chart);
    }

    /** The network, the same initial weights for every learner. */
    static MultiLayerNetwork network() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(42)
                .dataType(TYPE).weightInit(WeightInit.XAVIER).updater(new Adam(META_RATE))
                .convolutionMode(ConvolutionMode.Same).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(WAYS).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(SIZE, SIZE, 1))
                .build());
        net.init();
        return net;
    }

    /** Classes of images: each a pattern of a few random strokes on a {@value #SIZE}x{@value #SIZE} grid. */
    static final class Alphabet {
        private final float[][] patterns;

        Alphabet(int classes, Random random) {
            patterns = new float[classes][];
            for (int c = 0; c < classes; c++) {
                float[] image = new float[SIZE * SIZE];
                for (int stroke = 0; stroke < 3; stroke++) {
                    int row = 2 + random.nextInt(SIZE - 4);
                    int column = 2 + random.nextInt(SIZE - 4);
                    int dRow = random.nextInt(3) - 1;
                    int dColumn = dRow == 0 ? 1 - 2 * random.nextInt(2) : random.nextInt(3) - 1;
                    for (int i = 0; i < 5; i++) {
                        int r = row + i * dRow;
                        int col = column + i * dColumn;
                        if (r >= 0 && r < SIZE && col >= 0 && col < SIZE) {
                            image[r * SIZE + col] = 1;
                        }
                    }
                }
                patterns[c] = image;
            }
        }

        /**
         * A task: {@value #WAYS} classes drawn without repetition and labelled in a random order; its support set
         * ({@value #SHOTS} example per class) and query set ({@value #QUERIES} per class), [support x, support y,
         * query x, query y].
         */
        INDArray[] task(Random random) {
            List<Integer> classes = new ArrayList<>();
            while (classes.size() < WAYS) {
                int c = random.nextInt(patterns.length);
                if (!classes.contains(c)) {
                    classes.add(c);
                }
            }
            return new INDArray[] {images(classes, SHOTS, random), labels(SHOTS), images(classes, QUERIES, random),
                    labels(QUERIES)};
        }

        /** {@code perClass} examples of each class, class after class within each round: [n, 1, SIZE, SIZE]. */
        private INDArray images(List<Integer> classes, int perClass, Random random) {
            int n = classes.size() * perClass;
            float[] data = new float[n * SIZE * SIZE];
            for (int i = 0; i < n; i++) {
                float[] pattern = patterns[classes.get(i % WAYS)];
                int shiftRow = random.nextInt(3) - 1;
                int shiftColumn = random.nextInt(3) - 1;
                for (int r = 0; r < SIZE; r++) {
                    for (int c = 0; c < SIZE; c++) {
                        int from = (r - shiftRow) * SIZE + (c - shiftColumn);
                        boolean inside = r - shiftRow >= 0 && r - shiftRow < SIZE && c - shiftColumn >= 0
                                && c - shiftColumn < SIZE;
                        data[i * SIZE * SIZE + r * SIZE + c] = (inside ? pattern[from] : 0)
                                + (float) (0.3 * random.nextGaussian());
                    }
                }
            }
            return Nd4j.createFromArray(data).reshape(n, 1, SIZE, SIZE);
        }

        private static INDArray labels(int perClass) {
            INDArray y = Nd4j.zeros(TYPE, (long) WAYS * perClass, WAYS);
            for (int i = 0; i < WAYS * perClass; i++) {
                y.putScalar(i, i % WAYS, 1);
            }
            return y;
        }
    }

    /** A MAML learner: the converted network and its meta-loss over {@value #META_BATCH} tasks, trained by Adam. */
    static final class MetaLearner {
        private final MutableNetwork network;
        private final GraphTrainer trainer;

        MetaLearner(MultiLayerNetwork net, boolean secondOrder) {
            network = MutableNetwork.of(net);
            SameDiff sd = network.graph().sameDiff();
            SDVariable total = null;
            for (int task = 0; task < META_BATCH; task++) {
                SDVariable supportX = sd.placeHolder("task" + task + "/support_x", TYPE, -1, 1, SIZE, SIZE);
                SDVariable supportY = sd.placeHolder("task" + task + "/support_y", TYPE, -1, WAYS);
                SDVariable queryX = sd.placeHolder("task" + task + "/query_x", TYPE, -1, 1, SIZE, SIZE);
                SDVariable queryY = sd.placeHolder("task" + task + "/query_y", TYPE, -1, WAYS);
                Map<String, SDVariable> adapted = MamlSine.adapt(network, supportX, supportY, INNER_STEPS,
                        INNER_RATE, secondOrder);
                SDVariable query = network.loss(queryX, queryY, adapted);
                total = total == null ? query : total.add(query);
            }
            SDVariable metaLoss = total.div("metaLoss", META_BATCH);
            trainer = GraphTrainer.builder(network.graph()).loss(metaLoss.name()).updater(new Adam(META_RATE))
                    .build();
        }

        MutableNetwork network() {
            return network;
        }

        /** One meta-step on the tasks; returns the meta-loss before it. */
        double step(List<INDArray[]> tasks) {
            return trainer.step(MetaLearningRuns.feed(tasks));
        }
    }

    /** Predictions of a network before and after adapting to a task's support set, in one graph. */
    static final class Adapter {
        private final SameDiff sd;
        private final SDVariable before;
        private final SDVariable after;

        Adapter(MutableNetwork m) {
            sd = m.graph().sameDiff();
            SDVariable supportX = sd.placeHolder("adapt/support_x", TYPE, -1, 1, SIZE, SIZE);
            SDVariable supportY = sd.placeHolder("adapt/support_y", TYPE, -1, WAYS);
            SDVariable x = sd.placeHolder("adapt/x", TYPE, -1, 1, SIZE, SIZE);
            before = m.forward(x, Map.of());
            after = m.forward(x, MamlSine.adapt(m, supportX, supportY, INNER_STEPS, INNER_RATE, true));
        }

        INDArray[] predict(INDArray supportX, INDArray supportY, INDArray x) {
            Map<String, INDArray> values = sd.output(Map.of("adapt/support_x", supportX, "adapt/support_y", supportY,
                    "adapt/x", x), before.name(), after.name());
            return new INDArray[] {values.get(before.name()), values.get(after.name())};
        }
    }

    /** One pre-training step of plain DL4J on all the batch's examples; returns the score before the step. */
    private static double pretrain(MultiLayerNetwork net, List<INDArray[]> batch) {
        INDArray[] all = MetaLearningRuns.pooled(batch);
        net.fit(all[0], all[1]);
        return net.score();
    }

    private static double accuracy(INDArray probabilities, INDArray labels) {
        INDArray predicted = probabilities.argMax(1);
        INDArray truth = labels.argMax(1);
        return predicted.eq(truth).castTo(DataType.DOUBLE).meanNumber().doubleValue();
    }

    private static Path writeChart(Path file, double[][] curves, String[] names, double[][] accuracy)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Chart<?, ?>> charts = new ArrayList<>();
        charts.add(MetaLearningRuns.lossChart(curves, new String[] {names[0] + ": query loss after adaptation",
                names[1] + ": query loss after adaptation", names[2] + ": training loss"}, "cross-entropy", 50));
        CategoryChart bars = new CategoryChartBuilder().width(700).height(480)
                .title(String.format(Locale.ROOT, "Unseen classes: %d-way %d-shot accuracy", WAYS, SHOTS))
                .yAxisTitle("accuracy").build();
        bars.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        bars.getStyler().setYAxisMin(0.0);
        bars.getStyler().setYAxisMax(1.0);
        for (int n = 0; n < 3; n++) {
            bars.addSeries(names[n], List.of("before adapting", "after adapting"),
                    List.of(accuracy[n][0], accuracy[n][1])).setFillColor(MetaLearningRuns.COLORS[n]);
        }
        charts.add(bars);
        String base = file.toString().replaceFirst("\\.png$", "");
        BitmapEncoder.saveBitmap(charts, 1, 2, base, BitmapEncoder.BitmapFormat.PNG);
        return new File(base + ".png").toPath();
    }
}
