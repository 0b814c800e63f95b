package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Training and scoring with two executors in JVMs of their own ({@code local-cluster[2,1,1536]}): the networks travel
 * as bytes and are loaded in each executor, and the results still equal one machine's. Behind the
 * {@code spark-cluster} profile ({@code mvn -B -ntp -pl spark-adapter -Pspark-cluster test}): the executors take
 * tens of seconds to start, and this test needs its own session.
 */
@Tag("local-cluster")
class SeparateExecutorsTest {

    @Test
    void trainingAndScoringInSeparateExecutorJvmsEqualOneMachine() {
        String flags = System.getProperty("spark.jvm.flags", "");
        SparkSession spark = SparkSession.builder().master("local-cluster[2,1,1536]").appName("separate executors")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .config("spark.executor.extraJavaOptions", flags)
                .getOrCreate();
        try {
            Random random = new Random(5);
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                double[] x = new double[5];
                double[] y = new double[3];
                for (int k = 0; k < 5; k++) {
                    x[k] = random.nextGaussian();
                }
                for (int k = 0; k < 3; k++) {
                    y[k] = Math.tanh(x[k] + x[k + 1]);
                }
                rows.add(RowFactory.create(i, x, y));
            }
            StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                    .add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                    .add("y", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
            Dataset<Row> data = spark.createDataFrame(rows, schema).repartition(2);
            MutableNetwork distributed = MutableNetwork.of(SparkScoringTest.network(5, 3));
            MutableNetwork local = MutableNetwork.of(SparkScoringTest.network(5, 3));
            double[] losses = SparkTrainer.builder(distributed).features("x").labels("y").updater(new Adam(0.02))
                    .build().fit(data, 3);
            List<Row> all = data.collectAsList();
            INDArray x = Nd4j.create(DataType.DOUBLE, all.size(), 5);
            INDArray y = Nd4j.create(DataType.DOUBLE, all.size(), 3);
            for (int i = 0; i < all.size(); i++) {
                x.putRow(i, Nd4j.createFromArray(all.get(i).getList(1).stream().mapToDouble(v -> (Double) v)
                        .toArray()));
                y.putRow(i, Nd4j.createFromArray(all.get(i).getList(2).stream().mapToDouble(v -> (Double) v)
                        .toArray()));
            }
            GraphTrainer trainer = GraphTrainer.builder(local.graph()).loss(local.lossName()).updater(new Adam(0.02))
                    .build();
            for (int s = 0; s < 3; s++) {
                assertEquals(trainer.step(Map.of("input", x, "labels", y)), losses[s], 1e-10, "step " + s);
            }
            List<Row> scored = SparkScoring.score(data, distributed, "x", "out").collectAsList();
            assertEquals(200, scored.size());
            for (Row r : scored) {
                INDArray in = Nd4j.createFromArray(r.getList(1).stream().mapToDouble(v -> (Double) v).toArray())
                        .reshape(1, 5);
                double expected = distributed.output(in).getDouble(0);
                assertEquals(expected, (Double) r.getList(3).get(0), 1e-12);
            }
            assertTrue(losses[2] < losses[0]);
        } finally {
            spark.stop();
        }
    }
}
