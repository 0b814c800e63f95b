package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Training and scoring with two executors in JVMs of their own ({@code local-cluster[2,1,1536]}): the networks travel
 * as bytes and are loaded in each executor, and the results still equal one machine's; and the native threads tasks
 * compute with. Behind the {@code spark-cluster} profile ({@code mvn -B -ntp -pl spark-adapter -Pspark-cluster
 * test}): the executors take tens of seconds to start, and these tests need sessions (and a JVM) of their own.
 */
@Tag("local-cluster")
class SeparateExecutorsTest {

    /** A session of executors in JVMs of their own, with this test's classpath and Spark's flags. */
    private static SparkSession.Builder cluster(String master) {
        return SparkSession.builder().master(master).appName("separate executors")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .config("spark.executor.extraJavaOptions", System.getProperty("spark.jvm.flags", ""));
    }

    @Test
    void trainingAndScoringInSeparateExecutorJvmsEqualOneMachine() {
        SparkSession spark = cluster("local-cluster[2,1,1536]").getOrCreate();
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

    /** OpenBLAS's and libnd4j's threads where each partition of 20 scored rows ran, after the scoring. */
    private static List<Integer> threadsAfterScoring(SparkSession spark) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            rows.add(RowFactory.create((Object) new double[] {i, 1, 2, 3, 4}));
        }
        StructType schema = new StructType().add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        Dataset<Row> data = spark.createDataFrame(rows, schema).repartition(2);
        MutableNetwork network = MutableNetwork.of(SparkScoringTest.network(5, 3));
        assertEquals(20, SparkScoring.score(data, network, "x", "out").count());
        return data.toJavaRDD().mapPartitions(it -> List.of(NativeThreads.blasThreads(),
                Nd4j.getEnvironment().maxMasterThreads()).iterator()).collect();
    }

    /**
     * Executor JVMs compute with {@code spark.task.cpus} native threads (two here): Spark starts them with
     * {@code OMP_NUM_THREADS} set to it, which the library leaves (its default for a 2-core machine is one).
     */
    @Test
    void executorJvmsComputeWithTheirTasksCpusInNativeThreads() {
        SparkSession spark = cluster("local-cluster[1,2,1536]").config("spark.task.cpus", "2").getOrCreate();
        try {
            assertEquals(List.of(2, 2, 2, 2), threadsAfterScoring(spark));
        } finally {
            spark.stop();
        }
    }

    /**
     * In an embedded session the tasks run in the driver's JVM, whose environment Spark does not set: the first
     * task applies {@code spark.task.cpus} native threads (two here, where the default was another count). Here,
     * not with the shared session of the other tests: it needs a JVM in which no task has run yet.
     */
    @Test
    void embeddedTasksComputeWithTheirTasksCpusInNativeThreads() {
        NativeThreads.applyDefault();
        assertNotEquals(2, NativeThreads.blasThreads(), "the default: one thread on 2 cores, one per core above");
        SparkSession spark = SparkSession.builder().master("local[2]").appName("embedded threads")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.task.cpus", "2").getOrCreate();
        try {
            assertEquals(List.of(2, 2, 2, 2), threadsAfterScoring(spark));
        } finally {
            spark.stop();
        }
    }
}
