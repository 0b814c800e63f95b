package org.mutablemodules.spark;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The example of training on Spark (run by {@code scripts/spark-example.sh [master]}; tested by
 * {@code SparkHypernetworkTest}): sine tasks {@code y = a sin(x + b)}, every row with its own task's (a, b) as a
 * context column; a hypernetwork maps each row's context to a scale and a shift of the target network's hidden units
 * (the target network's layer computed with per-row generated modulation), trained data-parallel by
 * {@link SparkTrainer} on {@code local[*]} or the master URL given, then checked on unseen tasks on the driver.
 */
public final class SparkHypernetwork {

    /** The losses of training and the mean squared error on unseen tasks before and after. */
    public record Result(double[] losses, double unseenBefore, double unseenAfter) {
    }

    private SparkHypernetwork() {
    }

    /**
     * Runs the example.
     *
     * @param args the Spark master URL (default {@code local[*]})
     */
    public static void main(String[] args) {
        String master = args.length > 0 ? args[0] : "local[*]";
        SparkSession spark = SparkSession.builder().master(master).appName("SparkHypernetwork")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            run(spark, 20_000, 200, System.out);
        } finally {
            spark.stop();
        }
    }

    /**
     * Trains the hypernetwork on {@code rows} rows of 8 partitions for {@code steps} steps, printing progress.
     *
     * @param spark the session
     * @param rows  the number of training rows
     * @param steps the number of synchronous steps
     * @param out   where to print
     * @return what it measured
     */
    public static Result run(SparkSession spark, int rows, int steps, PrintStream out) {
        MutableGraph graph = hypernetwork(16);
        Dataset<Row> train = spark.createDataFrame(tasks(rows, 1), schema()).repartition(8).cache();
        Map<String, INDArray> unseen = arrays(tasks(2_000, 2));
        double before = mse(graph, unseen);
        long start = System.nanoTime();
        double[] losses = SparkTrainer.builder(graph).loss("loss").feed("x", "x").feed("context", "context")
                .feed("y", "y").updater(new Adam(0.01)).logEvery(Math.max(1, steps / 10)).build().fit(train, steps);
        double after = mse(graph, unseen);
        out.printf(Locale.ROOT, "%d steps over %,d rows in %d partitions on %s: %.1f s; training loss %.4f -> %.4f; "
                + "unseen tasks' MSE %.4f -> %.4f%n", steps, rows, train.rdd().getNumPartitions(),
                spark.sparkContext().master(), (System.nanoTime() - start) / 1e9, losses[0], losses[steps - 1], before,
                after);
        train.unpersist();
        return new Result(losses, before, after);
    }

    /** hidden = tanh(x W + b) * (1 + context S) + context T; y = hidden V + c: S and T make the per-row modulation. */
    static MutableGraph hypernetwork(int hidden) {
        Nd4j.getRandom().setSeed(7);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 1);
        SDVariable context = sd.placeHolder("context", DataType.FLOAT, -1, 2);
        SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, 1);
        SDVariable target = sd.math().tanh(x.mmul(sd.var("W", Nd4j.randn(DataType.FLOAT, 1, hidden)))
                .add(sd.var("b", Nd4j.randn(DataType.FLOAT, hidden).muli(0.5f))));
        SDVariable scale = context.mmul(sd.var("S", Nd4j.randn(DataType.FLOAT, 2, hidden).muli(0.3f))).add(1.0);
        SDVariable shift = context.mmul(sd.var("T", Nd4j.randn(DataType.FLOAT, 2, hidden).muli(0.3f)));
        SDVariable prediction = target.mul(scale).add(shift)
                .mmul(sd.var("V", Nd4j.randn(DataType.FLOAT, hidden, 1).muli(0.3f)))
                .add(sd.var("c", Nd4j.zeros(DataType.FLOAT, 1)));
        sd.loss().meanSquaredError("loss", y, prediction, null);
        return MutableGraph.of(sd);
    }

    /** Rows (x, context, y) of tasks y = a sin(x + b), 50 rows per task, a in [0.5, 2], b in [0, pi]. */
    static List<Row> tasks(int rows, long seed) {
        Random random = new Random(seed);
        List<Row> out = new ArrayList<>(rows);
        double a = 1;
        double b = 0;
        for (int i = 0; i < rows; i++) {
            if (i % 50 == 0) {
                a = 0.5 + 1.5 * random.nextDouble();
                b = Math.PI * random.nextDouble();
            }
            double x = -3 + 6 * random.nextDouble();
            out.add(RowFactory.create(new float[] {(float) x}, new float[] {(float) a, (float) b},
                    new float[] {(float) (a * Math.sin(x + b))}));
        }
        return out;
    }

    static StructType schema() {
        return new StructType()
                .add("x", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("context", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("y", DataTypes.createArrayType(DataTypes.FloatType, false), false);
    }

    private static Map<String, INDArray> arrays(List<Row> rows) {
        float[][] x = new float[rows.size()][];
        float[][] context = new float[rows.size()][];
        float[][] y = new float[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            x[i] = (float[]) rows.get(i).get(0);
            context[i] = (float[]) rows.get(i).get(1);
            y[i] = (float[]) rows.get(i).get(2);
        }
        return Map.of("x", Nd4j.createFromArray(x), "context", Nd4j.createFromArray(context),
                "y", Nd4j.createFromArray(y));
    }

    private static double mse(MutableGraph graph, Map<String, INDArray> data) {
        return graph.output(data, "loss").get("loss").getDouble(0);
    }
}
