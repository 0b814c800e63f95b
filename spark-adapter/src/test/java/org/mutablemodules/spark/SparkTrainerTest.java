package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link SparkTrainer}: synchronous steps equal full-batch {@link GraphTrainer} steps on one machine for any number of
 * partitions; a retried task changes nothing; a checkpoint resumes with the same losses; bad data are refused by
 * name with nothing trained.
 */
class SparkTrainerTest {

    private static final int ROWS = 300;

    /** Rows (x: 5 values, y: 3 values, task: 2 values) with y a noisy function of x and the task. */
    private static Dataset<Row> data(int partitions) {
        Random random = new Random(11);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            double[] x = new double[5];
            double[] task = {random.nextGaussian(), random.nextGaussian()};
            for (int k = 0; k < 5; k++) {
                x[k] = random.nextGaussian();
            }
            double[] y = {Math.sin(x[0]) + task[0], x[1] * x[2] - task[1], 0.5 * x[3] + 0.1 * random.nextGaussian()};
            rows.add(RowFactory.create(i, x, y, task));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("y", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("task", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        return LocalSpark.session().createDataFrame(rows, schema).repartition(partitions);
    }

    /** The same rows as arrays, in the order of {@code rows}. */
    private static Map<String, INDArray> arrays(List<Row> rows) {
        INDArray x = Nd4j.create(DataType.DOUBLE, rows.size(), 5);
        INDArray y = Nd4j.create(DataType.DOUBLE, rows.size(), 3);
        INDArray task = Nd4j.create(DataType.DOUBLE, rows.size(), 2);
        for (int i = 0; i < rows.size(); i++) {
            x.putRow(i, Nd4j.createFromArray(rows.get(i).getList(1).stream().mapToDouble(v -> (Double) v).toArray()));
            y.putRow(i, Nd4j.createFromArray(rows.get(i).getList(2).stream().mapToDouble(v -> (Double) v).toArray()));
            task.putRow(i, Nd4j.createFromArray(rows.get(i).getList(3).stream().mapToDouble(v -> (Double) v)
                    .toArray()));
        }
        return Map.of("x", x, "y", y, "task", task);
    }

    private static void assertSameParameters(MutableNetwork expected, MutableNetwork actual, double tolerance) {
        Map<String, INDArray> e = expected.toMultiLayerNetwork(Map.of()).paramTable();
        Map<String, INDArray> a = actual.toMultiLayerNetwork(Map.of()).paramTable();
        e.forEach((key, value) -> {
            double difference = value.sub(a.get(key)).amaxNumber().doubleValue();
            assertTrue(difference <= tolerance * Math.max(1, value.amaxNumber().doubleValue()),
                    key + " differs by " + difference);
        });
    }

    @ParameterizedTest(name = "{0} partition(s)")
    @ValueSource(ints = {1, 2, 4})
    void stepsEqualFullBatchStepsOnOneMachine(int partitions) {
        Dataset<Row> data = data(partitions);
        MutableNetwork spark = MutableNetwork.of(SparkScoringTest.network(5, 3));
        MutableNetwork local = MutableNetwork.of(SparkScoringTest.network(5, 3));
        double[] losses = SparkTrainer.builder(spark).features("x").labels("y").updater(new Adam(0.02)).build()
                .fit(data, 6);
        Map<String, INDArray> all = arrays(data.collectAsList());
        GraphTrainer trainer = GraphTrainer.builder(local.graph()).loss(local.lossName()).updater(new Adam(0.02))
                .build();
        for (int s = 0; s < 6; s++) {
            double expected = trainer.step(Map.of("input", all.get("x"), "labels", all.get("y")));
            assertEquals(expected, losses[s], 1e-10 * Math.max(1, expected), "loss of step " + s);
        }
        assertSameParameters(local, spark, 1e-10);
        assertTrue(losses[5] < losses[0], "trained: " + losses[0] + " -> " + losses[5]);
    }

    /** A graph whose prediction adds a term of each row's task to a network of x: a task column feeds it. */
    private static MutableGraph taskGraph() {
        Nd4j.getRandom().setSeed(21);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 5);
        SDVariable task = sd.placeHolder("task", DataType.DOUBLE, -1, 2);
        SDVariable y = sd.placeHolder("y", DataType.DOUBLE, -1, 3);
        SDVariable hidden = sd.math().tanh(x.mmul(sd.var("W1", Nd4j.randn(DataType.DOUBLE, 5, 6).muli(0.4)))
                .add(task.mmul(sd.var("T", Nd4j.randn(DataType.DOUBLE, 2, 6).muli(0.4)))));
        SDVariable out = hidden.mmul(sd.var("W2", Nd4j.randn(DataType.DOUBLE, 6, 3).muli(0.4)));
        sd.loss().meanSquaredError("loss", y, out, null);
        return MutableGraph.of(sd);
    }

    @Test
    void aGraphFedFromSeveralColumnsTrainsAsOnOneMachineAndARetriedTaskChangesNothing() {
        Dataset<Row> data = data(3);
        MutableGraph spark = taskGraph();
        MutableGraph local = taskGraph();
        AtomicInteger failures = new AtomicInteger();
        SparkTrainer.taskHook = index -> {
            if (index == 1 && failures.getAndIncrement() == 2) {
                throw new IllegalStateException("a task failed on purpose");
            }
        };
        double[] losses;
        try {
            losses = SparkTrainer.builder(spark).loss("loss").feed("x", "x").feed("task", "task").feed("y", "y")
                    .updater(new Sgd(0.1)).build().fit(data, 4);
        } finally {
            SparkTrainer.taskHook = index -> { };
        }
        assertTrue(failures.get() > 3, "the failing task ran again");
        Map<String, INDArray> all = arrays(data.collectAsList());
        GraphTrainer trainer = GraphTrainer.builder(local).loss("loss").updater(new Sgd(0.1)).build();
        for (int s = 0; s < 4; s++) {
            assertEquals(trainer.step(all), losses[s], 1e-10, "step " + s);
        }
        for (String v : List.of("W1", "T", "W2")) {
            double difference = local.sameDiff().getVariable(v).getArr()
                    .sub(spark.sameDiff().getVariable(v).getArr()).amaxNumber().doubleValue();
            assertTrue(difference < 1e-10, v + " differs by " + difference);
        }
    }

    @Test
    void aCheckpointedRunResumesWithTheLossesOfAnUninterruptedOne(@TempDir Path dir) throws IOException {
        Dataset<Row> data = data(2);
        MutableNetwork straight = MutableNetwork.of(SparkScoringTest.network(5, 3));
        double[] expected = SparkTrainer.builder(straight).features("x").labels("y").updater(new Adam(0.02)).build()
                .fit(data, 6);

        MutableNetwork first = MutableNetwork.of(SparkScoringTest.network(5, 3));
        Path file = dir.resolve("run.mmn");
        double[] before = SparkTrainer.builder(first).features("x").labels("y").updater(new Adam(0.02))
                .checkpoint(file, 3).build().fit(data, 3);
        MutableNetwork loaded = MutableNetwork.load(file);
        SparkTrainer resumed = SparkTrainer.builder(loaded).features("x").labels("y").updater(new Adam(0.02)).build();
        assertEquals(3, resumed.trainer().iteration(), "the trainer's state came with the file");
        double[] after = resumed.fit(data, 3);
        for (int s = 0; s < 6; s++) {
            assertEquals(expected[s], s < 3 ? before[s] : after[s - 3], 1e-12, "step " + s);
        }
    }

    @Test
    void localStepsOnOnePartitionAreThatManyFullBatchSteps() {
        Dataset<Row> data = data(1);
        MutableNetwork spark = MutableNetwork.of(SparkScoringTest.network(5, 3));
        MutableNetwork local = MutableNetwork.of(SparkScoringTest.network(5, 3));
        SparkTrainer.builder(spark).features("x").labels("y").updater(new Adam(0.02)).localSteps(3).build()
                .fit(data, 1);
        Map<String, INDArray> all = arrays(data.collectAsList());
        GraphTrainer trainer = GraphTrainer.builder(local.graph()).loss(local.lossName()).updater(new Adam(0.02))
                .build();
        for (int s = 0; s < 3; s++) {
            trainer.step(Map.of("input", all.get("x"), "labels", all.get("y")));
        }
        assertSameParameters(local, spark, 1e-10);
    }

    @Test
    void badDataAreRefusedByNameWithNothingTrained() {
        MutableNetwork m = MutableNetwork.of(SparkScoringTest.network(5, 3));
        INDArray before = m.toMultiLayerNetwork(Map.of()).params().dup();
        SparkTrainer trainer = SparkTrainer.builder(m).features("x").labels("y").updater(new Sgd(0.1)).build();
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> trainer.fit(data(2).drop("y"), 2));
        assertTrue(missing.getMessage().contains("\"y\""), missing.getMessage());

        List<Row> rows = new ArrayList<>(data(1).collectAsList());
        rows.set(7, RowFactory.create(7, new double[] {1, 2, Double.NaN, 4, 5}, rows.get(7).get(2), rows.get(7).get(3)));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> trainer.fit(
                LocalSpark.session().createDataFrame(rows, data(1).schema()), 2));
        assertTrue(nan.getMessage().contains("Column \"x\" holds NaN at position 2"), nan.getMessage());

        rows.set(7, RowFactory.create(7, new double[] {1, 2, 3}, rows.get(8).get(2), rows.get(8).get(3)));
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class, () -> trainer.fit(
                LocalSpark.session().createDataFrame(rows, data(1).schema()), 2));
        assertTrue(width.getMessage().contains("Column \"x\" holds a row of 3 values; 5 are expected"),
                width.getMessage());
        assertEquals(before, m.toMultiLayerNetwork(Map.of()).params(), "nothing trained");
        assertEquals(0, trainer.trainer().iteration());

        IllegalArgumentException unfed = assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder(m).features("x").updater(new Sgd(0.1)).build());
        assertTrue(unfed.getMessage().contains("labels"), unfed.getMessage());
        assertThrows(IllegalStateException.class, () -> SparkTrainer.builder(taskGraph()).features("x"));
    }

    /** Rows (id, x: a series of 2 features in NCW order, y: one target per step) of the given lengths. */
    private static Dataset<Row> series(int[] lengths, long seed) {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            int t = lengths[i];
            double[] x = new double[2 * t];
            double[] y = new double[t];
            for (int k = 0; k < x.length; k++) {
                x[k] = random.nextGaussian();
            }
            for (int k = 0; k < t; k++) {
                y[k] = Math.tanh(x[k] - x[t + k]) + 0.1 * random.nextGaussian();
            }
            rows.add(RowFactory.create(i, x, y));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("y", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        return LocalSpark.session().createDataFrame(rows, schema).repartition(2);
    }

    private static double[] values(Row row, int column) {
        return row.getList(column).stream().mapToDouble(v -> (Double) v).toArray();
    }

    private static MutableNetwork recurrent() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(2)
                .dataType(DataType.DOUBLE).list()
                .layer(new LSTM.Builder().nIn(2).nOut(4).build())
                .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        return MutableNetwork.of(net);
    }

    @Test
    void seriesOfOneLengthTrainAsFullBatchStepsAndSeveralLengthsAreRefusedByName() {
        int[] lengths = new int[90];
        Arrays.fill(lengths, 5);
        Dataset<Row> data = series(lengths, 3);
        MutableNetwork spark = recurrent();
        MutableNetwork local = recurrent();
        double[] losses = SparkTrainer.builder(spark).features("x").labels("y").updater(new Adam(0.02)).build()
                .fit(data, 3);
        List<Row> rows = data.collectAsList();
        INDArray x = Nd4j.create(DataType.DOUBLE, rows.size(), 2, 5);
        INDArray y = Nd4j.create(DataType.DOUBLE, rows.size(), 1, 5);
        for (int i = 0; i < rows.size(); i++) {
            // a row holds the series in the network's NCW layout: features x time, 'c' order
            x.get(NDArrayIndex.point(i)).assign(Nd4j.create(values(rows.get(i), 1), new long[] {2, 5}, 'c'));
            y.get(NDArrayIndex.point(i)).assign(Nd4j.create(values(rows.get(i), 2), new long[] {1, 5}, 'c'));
        }
        GraphTrainer trainer = GraphTrainer.builder(local.graph()).loss(local.lossName()).updater(new Adam(0.02))
                .build();
        for (int s = 0; s < 3; s++) {
            double expected = trainer.step(Map.of("input", x, "labels", y));
            assertEquals(expected, losses[s], 1e-10 * Math.max(1, expected), "loss of step " + s);
        }
        assertSameParameters(local, spark, 1e-10);

        INDArray before = spark.toMultiLayerNetwork(Map.of()).params().dup();
        lengths[40] = 6;
        SparkTrainer again = SparkTrainer.builder(spark).features("x").labels("y").updater(new Adam(0.02)).build();
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class,
                () -> again.fit(series(lengths, 3), 2));
        assertTrue(mixed.getMessage().contains("Column \"x\" holds rows of [10, 12] values"), mixed.getMessage());
        lengths[40] = 5;
        List<Row> odd = new ArrayList<>(series(lengths, 4).collectAsList());
        odd.set(3, RowFactory.create(3, new double[] {1, 2, 3}, new double[] {1, 2, 3}));
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                () -> again.fit(LocalSpark.session().createDataFrame(odd, series(lengths, 4).schema()), 2));
        assertTrue(width.getMessage().contains("Column \"x\" holds a row of 3 values; an example of shape [2, -1] "
                + "takes a positive multiple of 2"), width.getMessage());
        assertEquals(before, spark.toMultiLayerNetwork(Map.of()).params(), "nothing trained");
    }

    @Test
    void imagesOfOpenSizeTrainWithTheExampleShapeGivenAndAreRefusedWithout() {
        MultiLayerNetwork cnn = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5)
                .dataType(DataType.DOUBLE).list()
                .layer(new ConvolutionLayer.Builder().nIn(1).nOut(2).kernelSize(2, 1).activation(Activation.TANH)
                        .build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.MAX).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(2).nOut(3).activation(Activation.IDENTITY)
                        .build())
                .build());
        cnn.init();
        MutableNetwork spark = MutableNetwork.of(cnn);
        MutableNetwork local = MutableNetwork.of(cnn.clone());
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder(spark).features("x").labels("y").updater(new Sgd(0.1)).build());
        assertTrue(open.getMessage().contains("placeholder \"input\" (column \"x\")")
                && open.getMessage().contains("[1, -1, -1]"), open.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> SparkTrainer.builder(spark).features("x").labels("y").exampleShape("pixels", 1, 1, 5)
                        .updater(new Sgd(0.1)).build());
        assertTrue(unknown.getMessage().contains("\"pixels\""), unknown.getMessage());
        // each row's 5 values as an image of one channel, 5 pixels high and 1 wide
        Dataset<Row> data = data(2);
        double[] losses = SparkTrainer.builder(spark).features("x").labels("y").exampleShape("x", 1, 5, 1)
                .updater(new Sgd(0.1)).build().fit(data, 2);
        Map<String, INDArray> all = arrays(data.collectAsList());
        GraphTrainer trainer = GraphTrainer.builder(local.graph()).loss(local.lossName()).updater(new Sgd(0.1))
                .build();
        for (int s = 0; s < 2; s++) {
            double expected = trainer.step(Map.of("input", all.get("x").reshape(ROWS, 1, 5, 1), "labels",
                    all.get("y")));
            assertEquals(expected, losses[s], 1e-10 * Math.max(1, expected), "loss of step " + s);
        }
        assertSameParameters(local, spark, 1e-10);
    }
}
