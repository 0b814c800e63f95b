package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.tribuo.HypernetworkModel;
import org.mutablemodules.tribuo.HypernetworkTrainer;
import org.mutablemodules.tribuo.MutableNetworkModel;
import org.mutablemodules.tribuo.MutableNetworkTrainer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;

/** {@link SparkScoring}: each row's result equals the model's on one machine; bad columns are refused by name. */
class SparkScoringTest {

    /** Two partitions of 4,500 rows (a full batch and a partial one each), or one of two full batches and a part. */
    private static final int ROWS = 9000;

    static MultiLayerNetwork network(int nIn, int nOut) {
        return network(nIn, nOut, DataType.DOUBLE);
    }

    static MultiLayerNetwork network(int nIn, int nOut, DataType type) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .dataType(type).list()
                .layer(new DenseLayer.Builder().nIn(nIn).nOut(8).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(nOut).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        return net;
    }

    /** The features of {@link #features}: row {@code id} of the result is the row of that id. */
    private static double[][] featureValues(int width, long seed) {
        Random random = new Random(seed);
        double[][] values = new double[ROWS][width];
        for (double[] x : values) {
            for (int k = 0; k < width; k++) {
                x[k] = random.nextGaussian();
            }
        }
        return values;
    }

    /** Rows (id, doubles, floats, vector) of random features of width {@code width}, in {@code partitions}. */
    private static Dataset<Row> features(int width, int partitions, long seed) {
        List<Row> rows = new ArrayList<>();
        double[][] values = featureValues(width, seed);
        for (int i = 0; i < ROWS; i++) {
            double[] x = values[i];
            float[] f = new float[width];
            for (int k = 0; k < width; k++) {
                f[k] = (float) x[k];
            }
            rows.add(RowFactory.create(i, x.clone(), f, Vectors.dense(x.clone())));
        }
        StructType schema = new StructType()
                .add("id", DataTypes.IntegerType, false)
                .add("doubles", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("floats", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("vector", SQLDataTypes.VectorType(), false);
        return LocalSpark.session().createDataFrame(rows, schema).repartition(partitions);
    }

    private static List<Row> sortedById(Dataset<Row> scored) {
        List<Row> rows = new ArrayList<>(scored.collectAsList());
        rows.sort(Comparator.comparingInt(r -> r.getInt(0)));
        return rows;
    }

    /**
     * Every row's output, whatever the column's kind; with one partition, batches of one shape follow each other (the
     * scoring reuses its input array and its copies of Spark's rows from batch to batch).
     */
    @ParameterizedTest(name = "{0} network, {1} partition(s)")
    @CsvSource({"DOUBLE, 2, 1e-12", "FLOAT, 1, 1e-5"})
    void eachRowsOutputEqualsTheNetworksForEveryKindOfFeaturesColumn(DataType type, int partitions,
                                                                      double tolerance) {
        MultiLayerNetwork net = network(5, 3, type);
        MutableNetwork m = MutableNetwork.of(net);
        Dataset<Row> data = features(5, partitions, 1);
        double[][] values = featureValues(5, 1);
        for (String column : List.of("doubles", "floats", "vector")) {
            List<Row> rows = sortedById(SparkScoring.score(data, m, column, "y"));
            assertEquals(ROWS, rows.size());
            // each input row once, with its own values: the expected outputs come from the data, not from the rows
            // the scoring gave back
            INDArray x = Nd4j.create(DataType.DOUBLE, ROWS, 5);
            for (int i = 0; i < ROWS; i++) {
                assertEquals(i, rows.get(i).getInt(0), column + ": row ids");
                double[] echoed = rows.get(i).getList(1).stream().mapToDouble(v -> (Double) v).toArray();
                assertArrayEquals(values[i], echoed, column + " row " + i + "'s features");
                double[] row = values[i].clone();
                if (column.equals("floats")) {
                    for (int k = 0; k < 5; k++) {
                        row[k] = (float) row[k];
                    }
                }
                x.putRow(i, Nd4j.createFromArray(row));
            }
            INDArray expected = net.output(x.castTo(type));
            for (int i = 0; i < ROWS; i++) {
                List<Object> y = rows.get(i).getList(4);
                assertEquals(3, y.size());
                for (int k = 0; k < 3; k++) {
                    assertEquals(expected.getDouble(i, k), (Double) y.get(k), tolerance, column + " row " + i);
                }
            }
        }
    }

    /**
     * A network is loaded once per executor JVM however often it scores (keyed by its file's digest); changed, it is
     * another file and scores with its new values.
     */
    @Test
    void theSameNetworkIsLoadedOnceAndAChangedOneScoresAnew() {
        MutableNetwork m = MutableNetwork.of(network(5, 3));
        Dataset<Row> data = features(5, 2, 4);
        List<Row> first = sortedById(SparkScoring.score(data, m, "doubles", "y"));
        // local[2] runs the tasks in this JVM: the network they loaded is kept under its file's digest
        String key = ExecutorCache.contentKey("network", SparkScoring.saved(m));
        MutableNetwork kept = ExecutorCache.get(key, () -> fail("the scored network was not kept"));
        assertNotSame(m, kept);
        List<Row> again = sortedById(SparkScoring.score(data, m, "doubles", "y"));
        assertSame(kept, ExecutorCache.get(key, () -> fail("scoring again loaded it anew")));
        assertEquals(first, again);

        m.param("1_b").addi(1.0);
        assertNotEquals(key, ExecutorCache.contentKey("network", SparkScoring.saved(m)));
        List<Row> changed = sortedById(SparkScoring.score(data, m, "doubles", "y"));
        for (int i = 0; i < ROWS; i += 97) {
            for (int k = 0; k < 3; k++) {
                assertEquals((Double) first.get(i).getList(4).get(k) + 1.0, (Double) changed.get(i).getList(4).get(k),
                        1e-12, "row " + i + " scored with the output bias raised by 1");
            }
        }
    }

    /**
     * The scoring hands Spark one row object for all its rows: every use of the result (cached, filtered, joined,
     * limited, as an RDD of Rows) sees each row's own values, as the plain collection does.
     */
    @Test
    void theScoredRowsAreEachTheirOwnWhereverSparkTakesThem() {
        MutableNetwork m = MutableNetwork.of(network(5, 3));
        Dataset<Row> scored = SparkScoring.score(features(5, 2, 5), m, "doubles", "y");
        List<Row> plain = sortedById(scored);
        Dataset<Row> cached = scored.cache();
        try {
            assertEquals(plain, sortedById(cached));
            assertEquals(ROWS, cached.select("y").distinct().count(), "every row its own output");
            List<Row> fromRdd = new ArrayList<>(scored.toJavaRDD().collect());
            fromRdd.sort(Comparator.comparingInt(r -> r.getInt(0)));
            assertEquals(plain, fromRdd);
            Dataset<Row> firstOutputs = cached.select(cached.col("id"), cached.col("y").getItem(0).as("y0"));
            List<Row> joined = sortedById(cached.join(firstOutputs, "id").select("id", "y", "y0"));
            for (int i = 0; i < ROWS; i += 7) {
                assertEquals(plain.get(i).getList(4).get(0), joined.get(i).get(2), "row " + i);
            }
            long positive = plain.stream().filter(r -> (Double) r.getList(4).get(1) > 0).count();
            assertEquals(positive, scored.filter(scored.col("y").getItem(1).gt(0)).count());
            for (Row r : scored.limit(10).collectAsList()) {
                assertEquals(plain.get(r.getInt(0)), r);
            }
        } finally {
            cached.unpersist();
        }
    }

    @Test
    void badColumnsAreRefusedByNameBeforeAnyJob() {
        MutableNetwork m = MutableNetwork.of(network(5, 3));
        Dataset<Row> data = features(5, 2, 2);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> SparkScoring.score(data, m, "x", "y"));
        assertTrue(missing.getMessage().contains("\"x\"") && missing.getMessage().contains("doubles"),
                missing.getMessage());
        IllegalArgumentException number = assertThrows(IllegalArgumentException.class,
                () -> SparkScoring.score(data, m, "id", "y"));
        assertTrue(number.getMessage().contains("\"id\""), number.getMessage());
        IllegalArgumentException exists = assertThrows(IllegalArgumentException.class,
                () -> SparkScoring.score(data, m, "doubles", "floats"));
        assertTrue(exists.getMessage().contains("\"floats\""), exists.getMessage());
        MutableNetwork wide = MutableNetwork.of(network(6, 3));
        Exception width = assertThrows(Exception.class,
                () -> SparkScoring.score(data, wide, "doubles", "y").collectAsList());
        assertTrue(String.valueOf(width.getMessage()).contains("Column \"doubles\" holds a row of 5 values; 6 are "
                + "expected"), String.valueOf(width.getMessage()));
    }

    @Test
    void sparseVectorsScoreAsTheirDenseValuesAndBadValuesAreRefusedNamingTheColumn() {
        MultiLayerNetwork net = network(6, 2);
        MutableNetwork m = MutableNetwork.of(net);
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("v", SQLDataTypes.VectorType(), false);
        List<Row> rows = List.of(RowFactory.create(0, Vectors.sparse(6, new int[] {1, 4}, new double[] {0.5, -2})),
                RowFactory.create(1, Vectors.dense(0, 0.5, 0, 0, -2, 0)),
                RowFactory.create(2, Vectors.sparse(6, new int[] {0, 5}, new double[] {3, 1.25})));
        List<Row> scored = sortedById(SparkScoring.score(LocalSpark.session().createDataFrame(rows, schema), m, "v",
                "y"));
        INDArray expected = net.output(Nd4j.createFromArray(new double[][] {{0, 0.5, 0, 0, -2, 0},
                {0, 0.5, 0, 0, -2, 0}, {3, 0, 0, 0, 0, 1.25}}));
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 2; k++) {
                assertEquals(expected.getDouble(i, k), (Double) scored.get(i).getList(2).get(k), 1e-12, "row " + i);
            }
        }
        StructType arrays = new StructType().add("id", DataTypes.IntegerType, false)
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType, true), true);
        for (Object[] bad : new Object[][] {
                {new Double[] {0.0, 1.0, Double.NaN, 0.0, 0.0, 0.0}, "Column \"x\" holds NaN at position 2"},
                {new Double[] {0.0, 1.0, 0.0, null, 0.0, 0.0}, "Column \"x\" holds a null at position 3"},
                {null, "Column \"x\" holds a null."}}) {
            Dataset<Row> data = LocalSpark.session().createDataFrame(List.of(RowFactory.create(0,
                    new Double[] {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}), RowFactory.create(1, bad[0])), arrays);
            Exception e = assertThrows(Exception.class, () -> SparkScoring.score(data, m, "x", "y").collectAsList());
            assertTrue(String.valueOf(e.getMessage()).contains((String) bad[1]), String.valueOf(e.getMessage()));
        }
    }

    /** A recurrent network over series of 3 features, its input's length open: per time step (NCW) or last (NWC). */
    static MultiLayerNetwork recurrent(RNNFormat format) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(4)
                .dataType(DataType.DOUBLE).list()
                .layer(new LSTM.Builder().nIn(3).nOut(5).dataFormat(format).build());
        if (format == RNNFormat.NCW) {
            list.layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(5).nOut(2).activation(Activation.IDENTITY)
                    .dataFormat(format).build());
        } else {
            list.layer(new LastTimeStep(new LSTM.Builder().nIn(5).nOut(4).dataFormat(format).build()))
                    .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY)
                            .build());
        }
        MultiLayerNetwork net = new MultiLayerNetwork(list.build());
        net.init();
        return net;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(RNNFormat.class)
    void seriesOfAnyLengthTakeTheirLengthFromEachRowInTheNetworksLayout(RNNFormat format) {
        MultiLayerNetwork net = recurrent(format);
        MutableNetwork m = MutableNetwork.of(net);
        Random random = new Random(12);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 240; i++) {
            double[] x = new double[3 * (2 + random.nextInt(4))];
            for (int k = 0; k < x.length; k++) {
                x[k] = random.nextGaussian();
            }
            rows.add(RowFactory.create(i, x));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("series", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        List<Row> scored = sortedById(SparkScoring.score(LocalSpark.session().createDataFrame(rows, schema)
                .repartition(2), m, "series", "y"));
        assertEquals(240, scored.size());
        for (int i = 0; i < 240; i++) {
            double[] x = (double[]) rows.get(i).get(1);
            int length = x.length / 3;
            long[] shape = format == RNNFormat.NCW ? new long[] {1, 3, length} : new long[] {1, length, 3};
            // DL4J's output for the row alone, flattened in 'c' order (NCW: outputs x time)
            double[] expected = net.output(Nd4j.create(x, shape, 'c')).dup('c').data().asDouble();
            List<Object> y = scored.get(i).getList(2);
            assertEquals(expected.length, y.size(), "row " + i);
            for (int k = 0; k < expected.length; k++) {
                assertEquals(expected[k], (Double) y.get(k), 1e-12, "row " + i + " value " + k);
            }
        }
        Dataset<Row> ragged = LocalSpark.session().createDataFrame(List.of(RowFactory.create(0,
                new double[] {1, 2, 3, 4, 5, 6}), RowFactory.create(1, new double[] {1, 2, 3, 4, 5, 6, 7})), schema);
        Exception e = assertThrows(Exception.class, () -> SparkScoring.score(ragged, m, "series", "y")
                .collectAsList());
        String expected = "Column \"series\" holds a row of 7 values; an example of shape "
                + (format == RNNFormat.NCW ? "[3, -1]" : "[-1, 3]") + " takes a positive multiple of 3";
        assertTrue(String.valueOf(e.getMessage()).contains(expected), String.valueOf(e.getMessage()));
    }

    @Test
    void imagesOfOpenHeightAndWidthAreScoredWithTheExampleShapeGiven() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(6)
                .dataType(DataType.DOUBLE).list()
                .layer(new ConvolutionLayer.Builder().nIn(2).nOut(3).kernelSize(2, 2).activation(Activation.TANH)
                        .build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(2).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        Dataset<Row> data = features(2 * 4 * 5, 2, 9);
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class,
                () -> SparkScoring.score(data, m, "doubles", "y"));
        assertTrue(open.getMessage().contains("features column \"doubles\"") && open.getMessage().contains(
                "[2, -1, -1]") && open.getMessage().contains("2 open dimensions"), open.getMessage());
        IllegalArgumentException disagreeing = assertThrows(IllegalArgumentException.class,
                () -> SparkScoring.score(data, m, "doubles", "y", new long[] {4, 2, 5}));
        assertTrue(disagreeing.getMessage().contains("[4, 2, 5]") && disagreeing.getMessage().contains(
                "[-1, 2, -1, -1]"), disagreeing.getMessage());
        List<Row> rows = sortedById(SparkScoring.score(data, m, "doubles", "y", new long[] {2, 4, 5}));
        INDArray x = Nd4j.create(DataType.DOUBLE, ROWS, 2, 4, 5);
        for (int i = 0; i < ROWS; i++) {
            x.get(NDArrayIndex.point(i)).assign(Nd4j.create(rows.get(i).getList(1).stream()
                    .mapToDouble(v -> (Double) v).toArray(), new long[] {2, 4, 5}, 'c'));
        }
        INDArray expected = net.output(x);
        for (int i = 0; i < ROWS; i++) {
            for (int k = 0; k < 2; k++) {
                assertEquals(expected.getDouble(i, k), (Double) rows.get(i).getList(4).get(k), 1e-12, "row " + i);
            }
        }
    }

    /** Groups of rows whose target is linear in x with coefficients set by the group's context (a, b). */
    private static MutableDataset<Regressor> grouped(int groups, int perGroup, long seed) {
        Random random = new Random(seed);
        MutableDataset<Regressor> data = new MutableDataset<>(new SimpleDataSourceProvenance("grouped",
                new RegressionFactory()), new RegressionFactory());
        for (int g = 0; g < groups; g++) {
            double a = random.nextDouble() * 2 - 1;
            double b = random.nextDouble() * 2 - 1;
            for (int i = 0; i < perGroup; i++) {
                double x1 = random.nextDouble() * 2 - 1;
                double x2 = random.nextDouble() * 2 - 1;
                data.add(new ArrayExample<>(new Regressor("y", 2 * a * x1 + (b - 1) * x2 + 0.5 * b),
                        new String[] {"context.a", "context.b", "x1", "x2"}, new double[] {a, b, x1, x2}));
            }
        }
        return data;
    }

    private static Dataset<Row> frame(MutableDataset<?> data) {
        List<Row> rows = new ArrayList<>();
        int id = 0;
        for (Example<?> e : data) {
            double[] v = new double[4];
            e.forEach(f -> v[List.of("context.a", "context.b", "x1", "x2").indexOf(f.getName())] = f.getValue());
            rows.add(RowFactory.create(id++, v[0], v[1], v[2], v[3]));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("context.a", DataTypes.DoubleType, false).add("context.b", DataTypes.DoubleType, false)
                .add("x1", DataTypes.DoubleType, false).add("x2", DataTypes.DoubleType, false);
        return LocalSpark.session().createDataFrame(rows, schema).repartition(3);
    }

    @Test
    void aHypernetworkModelPredictsEachRowWithItsOwnContextsWeights() {
        MutableDataset<Regressor> train = grouped(16, 20, 4);
        HypernetworkModel<Regressor> model = HypernetworkTrainer.regression(new NeuralNetConfiguration.Builder()
                        .dataType(DataType.FLOAT).list()
                        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(2).nOut(1)
                                .activation(Activation.IDENTITY).build()).build())
                .contextPrefix("context.").hypernetwork(new int[] {8}, Activation.TANH)
                .updater(new Adam(0.01)).epochs(3).minibatchSize(32).seed(5).build().train(train);
        MutableDataset<Regressor> test = grouped(4, 30, 6);
        List<Row> rows = sortedById(SparkScoring.predict(frame(test), model,
                List.of("context.a", "context.b", "x1", "x2"), "prediction"));
        List<Prediction<Regressor>> expected = model.predict(test);
        assertEquals(test.size(), rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(expected.get(i).getOutput().getValues()[0], rows.get(i).getDouble(5), 1e-6, "row " + i);
        }
    }

    @Test
    void aClassifiersLabelsComeBackAsTheirNames() {
        MutableDataset<Label> train = new MutableDataset<>(new SimpleDataSourceProvenance("signs",
                new LabelFactory()), new LabelFactory());
        Random random = new Random(8);
        for (int i = 0; i < 200; i++) {
            double x1 = random.nextGaussian();
            double x2 = random.nextGaussian();
            train.add(new ArrayExample<>(new Label(x1 + x2 > 0 ? "up" : "down"),
                    new String[] {"context.a", "context.b", "x1", "x2"}, new double[] {0, 0, x1, x2}));
        }
        MutableNetworkModel<Label> model = MutableNetworkTrainer.classification(new NeuralNetConfiguration.Builder()
                        .dataType(DataType.FLOAT).list()
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2)
                                .activation(Activation.SOFTMAX).build()).build())
                .updater(new Adam(0.05)).epochs(5).minibatchSize(32).seed(5).build().train(train);
        List<Row> rows = sortedById(SparkScoring.predict(frame(train), model,
                List.of("context.a", "context.b", "x1", "x2"), "label"));
        List<Prediction<Label>> expected = model.predict(train);
        int agreeing = 0;
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(expected.get(i).getOutput().getLabel(), rows.get(i).getString(5), "row " + i);
            agreeing += rows.get(i).getString(5).equals(train.getExample(i).getOutput().getLabel()) ? 1 : 0;
        }
        assertTrue(agreeing > 180, "the classifier learnt the signs: " + agreeing + " of 200");
    }
}
