package org.mutablemodules.spark;

import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A benchmark program (not a test): scoring throughput in local[2] (or on a master given) against a single-JVM
 * {@code output()} loop over the same rows, and training step time against partitions and rows with Spark's own
 * per-step cost (the same broadcast and job with no work) separated. Run by {@code bench/spark.sh [part] [master]};
 * prints one table, ratios side by side in one run.
 */
public final class SparkBenchmark {

    /** Scoring rounds run before measuring, for the JIT, and rounds measured (their median is reported). */
    private static final int WARM_UP_ROUNDS = 10;
    private static final int MEASURED_ROUNDS = 7;

    private static SparkSession spark;

    private SparkBenchmark() {
    }

    private static MultiLayerNetwork network(int nIn, int hidden, int nOut) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(nIn).nOut(hidden).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(nOut).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        return net;
    }

    /** Random rows (x, y) made by the executors (a million rows would not fit in one task), cached there. */
    private static Dataset<Row> rows(int n, int nIn, int nOut, int partitions) {
        StructType schema = new StructType()
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("y", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
        return spark.range(0, n, 1, partitions).map((MapFunction<Long, Row>) i -> {
            Random random = new Random(i);
            double[] x = new double[nIn];
            double[] y = new double[nOut];
            for (int k = 0; k < nIn; k++) {
                x[k] = random.nextGaussian();
            }
            for (int k = 0; k < nOut; k++) {
                y[k] = random.nextGaussian();
            }
            return RowFactory.create(x, y);
        }, Encoders.row(schema)).cache();
    }

    /**
     * Runs the measurements.
     *
     * @param args {@code scoring}, {@code training} or {@code all}; then a master URL ({@code local-cluster[2,1,1536]}:
     *             two executors in JVMs of their own), the tests' {@code local[2,2]} session by default
     */
    public static void main(String[] args) {
        String part = args.length > 0 ? args[0] : "all";
        spark = args.length > 1 ? SparkSession.builder().master(args[1]).appName("spark benchmark")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .config("spark.executor.extraJavaOptions", System.getProperty("spark.jvm.flags", ""))
                .getOrCreate() : LocalSpark.session();
        System.out.println("master: " + spark.sparkContext().master());
        System.out.println("| measurement | value |");
        System.out.println("| --- | --- |");
        if (!part.equals("training")) {
            scoring(32, 64, 4, new int[] {20_000, 100_000, 1_000_000});
            scoring(256, 512, 10, new int[] {20_000, 100_000});
        }
        if (!part.equals("scoring")) {
            training(32, 4);
        }
        spark.stop();
    }

    /** Scoring throughput for a nIn-hidden-nOut network: Spark, one output() loop, Spark's own pass-through. */
    private static void scoring(int nIn, int hidden, int nOut, int[] sizes) {
        MutableNetwork network = MutableNetwork.of(network(nIn, hidden, nOut));
        for (int n : sizes) {
            Dataset<Row> data = rows(n, nIn, nOut, 2);
            data.count();
            INDArray all = Nd4j.rand(DataType.FLOAT, n, nIn);
            // rounds until the JIT has compiled Spark's and the scoring's code (a million rows took several), then
            // the median of the measured rounds, the output() loop's and Spark's interleaved
            double[] local = new double[MEASURED_ROUNDS];
            double[] closing = new double[MEASURED_ROUNDS];
            double[] parallel = new double[MEASURED_ROUNDS];
            double[] spark = new double[MEASURED_ROUNDS];
            int batch = SparkScoring.rowsPerBatch(nIn);
            for (int round = -WARM_UP_ROUNDS; round < MEASURED_ROUNDS; round++) {
                long t0 = System.nanoTime();
                outputLoop(network, all, 0, n, batch, false);
                double loop = n / ((System.nanoTime() - t0) / 1e9);
                // as the scoring does: each output freed once read, not when the collector finds it
                long tc = System.nanoTime();
                outputLoop(network, all, 0, n, batch, true);
                double closed = n / ((System.nanoTime() - tc) / 1e9);
                // the machine's own parallel ceiling: two such loops at once, each over half the rows, sharing the
                // network as Spark's two tasks do
                long tp = System.nanoTime();
                Thread other = new Thread(() -> outputLoop(network, all, n / 2, n, batch, false));
                other.start();
                outputLoop(network, all, 0, n / 2, batch, false);
                join(other);
                double two = n / ((System.nanoTime() - tp) / 1e9);
                long t1 = System.nanoTime();
                // Spark's "noop" sink runs the whole plan and writes nothing: the rows are never turned into Rows
                SparkScoring.score(data, network, "x", "out").write().format("noop").mode("overwrite").save();
                double scored = n / ((System.nanoTime() - t1) / 1e9);
                if (round >= 0) {
                    local[round] = loop;
                    closing[round] = closed;
                    parallel[round] = two;
                    spark[round] = scored;
                }
            }
            double[] passing = new double[MEASURED_ROUNDS];
            double[] internal = new double[MEASURED_ROUNDS];
            for (int round = -WARM_UP_ROUNDS; round < MEASURED_ROUNDS; round++) {
                long t0 = System.nanoTime();
                data.mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) it -> it,
                        Encoders.row(data.schema())).write().format("noop").mode("overwrite")
                        .save();
                double asRows = n / ((System.nanoTime() - t0) / 1e9);
                t0 = System.nanoTime();
                data.write().format("noop").mode("overwrite").save();
                double asTheyAre = n / ((System.nanoTime() - t0) / 1e9);
                if (round >= 0) {
                    passing[round] = asRows;
                    internal[round] = asTheyAre;
                }
            }
            System.out.printf(Locale.ROOT, "| scoring %,d rows, %d-%d-%d network: Spark rows/s, one output() "
                    + "loop rows/s, ratio | %,.0f, %,.0f, %.2f |%n", n, nIn, hidden, nOut, median(spark), median(local),
                    median(spark) / median(local));
            System.out.printf(Locale.ROOT, "| the same: one output() loop closing each output once read rows/s, "
                    + "Spark's ratio to it | %,.0f, %.2f |%n", median(closing), median(spark) / median(closing));
            System.out.printf(Locale.ROOT, "| the same: two output() loops on two threads rows/s, their speed-up "
                    + "over one, Spark's share of them | %,.0f, %.2f, %.2f |%n", median(parallel),
                    median(parallel) / median(local), median(spark) / median(parallel));
            System.out.printf(Locale.ROOT, "| Spark alone, %,d rows of %d values, unscored: as Rows through "
                    + "mapPartitions; read and written as they are, rows/s | %,.0f; %,.0f |%n", n, nIn, median(passing),
                    median(internal));
            data.unpersist();
        }
    }

    /**
     * {@code output()} over rows {@code [from, to)} of {@code all}, {@code batch} rows per call; each output closed at
     * once if {@code close}, else left to the collector (as a loop that keeps its outputs).
     */
    private static void outputLoop(MutableNetwork network, INDArray all, int from, int to, int batch, boolean close) {
        for (int start = from; start < to; start += batch) {
            INDArray y = network.output(all.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, Math.min(to,
                    start + batch)), org.nd4j.linalg.indexing.NDArrayIndex.all()));
            if (close) {
                y.close();
            }
        }
    }

    private static void join(Thread thread) {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** Training step time against partitions and rows, and Spark's own cost of a step. */
    private static void training(int nIn, int nOut) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        for (int partitions : new int[] {1, 2, 4}) {
            for (int n : new int[] {2_000, 20_000}) {
                Dataset<Row> data = rows(n, nIn, nOut, partitions);
                data.count();
                MutableNetwork trained = MutableNetwork.of(network(nIn, 64, nOut));
                SparkTrainer trainer = SparkTrainer.builder(trained).features("x").labels("y")
                        .updater(new Adam(1e-3)).build();
                trainer.fit(data, 2);       // warm-up: the executors' copies loaded, the code compiled
                int steps = 10;
                long t0 = System.nanoTime();
                trainer.fit(data, 1);       // each fit caches the rows once: the difference is the steps alone
                long once = System.nanoTime() - t0;
                t0 = System.nanoTime();
                trainer.fit(data, steps + 1);
                double step = (System.nanoTime() - t0 - once) / 1e6 / steps;
                long t1 = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    Broadcast<double[]> values = jsc.broadcast(new double[nIn * 64 + 64 + 64 * nOut + nOut]);
                    data.toJavaRDD().mapPartitions(rows -> List.of(values.value().length).iterator()).collect();
                    values.destroy();
                }
                double empty = (System.nanoTime() - t1) / 1e6 / steps;
                System.out.printf(Locale.ROOT, "| training step, %d partition(s), %,d rows: ms per step, of which "
                        + "Spark's empty step | %.1f, %.1f |%n", partitions, n, step, empty);
                data.unpersist();
            }
        }
    }
}
