package org.mutablemodules.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.mutablemodules.dl4j.MutableNetwork;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.protos.core.ModelProto;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;

/**
 * Scores a DataFrame on Spark: every row through a converted network or a Tribuo model, the result in a new column,
 * equal to scoring the same rows on one machine.
 *
 * <pre>{@code
 * Dataset<Row> scored = SparkScoring.score(data, network, "features", "prediction");     // array<double>
 * Dataset<Row> labelled = SparkScoring.predict(data, tribuoModel, List.of("x1", "x2"), "label");
 * }</pre>
 *
 * <p>The model travels once per executor JVM: it is saved (the library's format, or Tribuo's protobuf), broadcast as
 * bytes, and loaded by the first task of each JVM; tasks share it. Rows are scored in batches of up to
 * {@value #MAX_BATCH_ROWS} rows and {@value #MAX_BATCH_VALUES} input values per call. The scoring itself runs when the
 * returned DataFrame is used; {@code score} plans the input at once (it reads Spark's internal rows), so stages the
 * input's plan must run first (a shuffle, with adaptive execution) may run then, and filters applied to the result are
 * not pushed below it. Columns are checked against the schema before anything runs (a missing column, another type,
 * the output column already present, a streaming Dataset, an input with several open dimensions and no example
 * shape); a row that holds a null, a NaN or a width the model's input cannot take fails its task with a message naming
 * the column.
 */
public final class SparkScoring {

    /** The most rows scored per call of the model (per-call costs weigh on small models below a few thousand). */
    public static final int MAX_BATCH_ROWS = 4096;

    /** The most input values per call of the model (16 MiB of doubles): fewer rows per call for wide rows. */
    public static final int MAX_BATCH_VALUES = 1 << 21;

    private SparkScoring() {
    }

    /**
     * The rows of {@code data} with a new column {@code outputColumn}: the network's output for the row's features, as
     * {@code array<double>} (flattened in 'c' order for outputs of more than one axis per example: a series' output
     * as {@code outputs x time} in NCW).
     *
     * <p>A row holds one example's values in 'c' order of the network's input: a series {@code features x time}
     * (NCW) or {@code time x features} (NWC), an image {@code channels x height x width}. An input with one open
     * dimension, such as a series of any length, takes its length from each row (rows of different lengths are
     * scored in separate calls); an input with more (an image of open height and width) needs
     * {@link #score(Dataset, MutableNetwork, String, String, long[])}.
     *
     * @param data           the rows
     * @param network        a network with one input and one output
     * @param featuresColumn the column of the network's input: {@code array<double>}, {@code array<float>} or a Spark
     *                       ML {@code Vector}, as many values as the input takes per example
     * @param outputColumn   the name of the new column
     * @return the scored rows (lazy)
     * @throws IllegalArgumentException if a column is missing or of another type, the output column exists, the
     *                                  network has several inputs or outputs, its input leaves more than one dimension
     *                                  of an example open, or the data come from a Spark Connect session (the scoring
     *                                  runs ND4J inside Spark's tasks: a classic session)
     */
    public static Dataset<Row> score(Dataset<Row> data, MutableNetwork network, String featuresColumn,
                                     String outputColumn) {
        return scored(data, network, featuresColumn, outputColumn, null);
    }

    /**
     * As {@link #score(Dataset, MutableNetwork, String, String)}, each row one example of the shape given: for a
     * network whose input leaves several dimensions open, such as a convolutional network's image of any height and
     * width ({@code {channels, height, width}} in NCHW).
     *
     * @param data           the rows
     * @param network        a network with one input and one output
     * @param featuresColumn the column of the network's input, as many values as an example of {@code exampleShape}
     * @param outputColumn   the name of the new column
     * @param exampleShape   the shape of one example, without the batch dimension; it must agree with the dimensions
     *                       the network's input fixes
     * @return the scored rows (lazy)
     * @throws IllegalArgumentException as {@link #score(Dataset, MutableNetwork, String, String)}, or if the shape
     *                                  has a dimension below 1 or disagrees with the network's input
     */
    public static Dataset<Row> score(Dataset<Row> data, MutableNetwork network, String featuresColumn,
                                     String outputColumn, long[] exampleShape) {
        return scored(data, network, featuresColumn, outputColumn, Objects.requireNonNull(exampleShape,
                "exampleShape"));
    }

    private static Dataset<Row> scored(Dataset<Row> data, MutableNetwork network, String featuresColumn,
                                       String outputColumn, long[] exampleShape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(network, "network");
        String input = network.inputName();
        network.outputName();
        long[] shape = network.graph().sameDiff().getVariable(input).placeholderShape();
        ExampleShape example = ExampleShape.of(shape, exampleShape, "the network (features column \""
                + featuresColumn + "\")");
        long width = example.width();
        Columns.Reader reader = Columns.Reader.of(data.schema(), featuresColumn, "features", width);
        if (reader.kind() == Columns.Kind.NUMBER) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "The features column \"%s\" holds one "
                    + "number per row; a network's input is an array or a Vector.", featuresColumn));
        }
        StructType out = withNewColumn(data.schema(), outputColumn,
                DataTypes.createArrayType(DataTypes.DoubleType, false));
        org.apache.spark.sql.classic.Dataset<Row> classic = classic(data);
        byte[] file = saved(network);
        Broadcast<byte[]> saved = broadcast(data, file);
        // the network as it is now, loaded once per executor JVM however often it scores (its file is the same)
        String key = ExecutorCache.contentKey("network", file);
        org.nd4j.linalg.api.buffer.DataType type = network.graph().sameDiff().getVariable(input).dataType();
        // Spark's internal rows, not Rows: a Row boxes every value of its arrays, which costs more than the network
        RDD<InternalRow> rows = classic.queryExecution().toRdd();
        FlatMapFunction<Iterator<InternalRow>, InternalRow> scoring = partition -> {
            TaskThreads.apply();
            return new ScoredRows(partition, () -> ExecutorCache.get(key, () -> load(saved.value())), reader, example,
                    type, featuresColumn);
        };
        JavaRDD<InternalRow> scored = rows.toJavaRDD().mapPartitions(scoring);
        return classic.sparkSession().internalCreateDataFrame(scored.rdd(), out, false);
    }

    /** The classic (not Spark Connect) Dataset whose tasks run this JVM's code. */
    private static org.apache.spark.sql.classic.Dataset<Row> classic(Dataset<Row> data) {
        if (data.isStreaming()) {
            throw new IllegalArgumentException("The data are a streaming Dataset; SparkScoring.score scores batch "
                    + "DataFrames (score each micro-batch, in foreachBatch).");
        }
        if (data instanceof org.apache.spark.sql.classic.Dataset<Row> classic) {
            return classic;
        }
        throw new IllegalArgumentException("The data come from a Spark Connect session (" + data.getClass().getName()
                + "); scoring runs ND4J inside Spark's tasks and needs a classic SparkSession.");
    }

    /**
     * The rows of {@code data} with a new column {@code outputColumn}: a Tribuo model's prediction from the named
     * numeric columns, each a feature of that name (a {@code HypernetworkModel}'s context features included, so each
     * row is predicted with the weights its own context generates). A {@code Label} becomes its name (a string
     * column), a one-dimensional {@code Regressor} its value (a double column), a regressor of several dimensions its
     * values in dimension order ({@code array<double>}).
     *
     * @param data           the rows
     * @param model          any Tribuo model of labels or regressors, this project's or Tribuo's own (it travels as
     *                       Tribuo's protobuf)
     * @param featureColumns the numeric columns to read, named as the model's features
     * @param outputColumn   the name of the new column
     * @param <T>            the model's output type
     * @return the predicted rows (lazy)
     * @throws IllegalArgumentException if a column is missing or not numeric, the output column exists, or the model
     *                                  predicts neither labels nor regressors
     */
    public static <T extends Output<T>> Dataset<Row> predict(Dataset<Row> data, Model<T> model,
                                                             List<String> featureColumns, String outputColumn) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(featureColumns, "featureColumns");
        if (featureColumns.isEmpty()) {
            throw new IllegalArgumentException("Name at least one feature column.");
        }
        List<Columns.Reader> readers = new ArrayList<>();
        for (String c : featureColumns) {
            Columns.Reader r = Columns.Reader.of(data.schema(), c, "feature", 1);
            if (r.kind() != Columns.Kind.NUMBER) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "The feature column \"%s\" is not "
                        + "numeric: a Tribuo feature is one number.", c));
            }
            readers.add(r);
        }
        T sample = model.getOutputIDInfo().getDomain().iterator().next();
        boolean label = sample instanceof Label;
        if (!label && !(sample instanceof Regressor)) {
            throw new IllegalArgumentException("The model predicts " + sample.getClass().getName()
                    + "; Label and Regressor models are supported.");
        }
        int dimensions = label ? 1 : ((Regressor) sample).size();
        DataType outType = label ? DataTypes.StringType : dimensions == 1 ? DataTypes.DoubleType
                : DataTypes.createArrayType(DataTypes.DoubleType, false);
        StructType out = withNewColumn(data.schema(), outputColumn, outType);
        byte[] serialized = model.serialize().toByteArray();
        Broadcast<byte[]> proto = broadcast(data, serialized);
        String key = ExecutorCache.contentKey("tribuo", serialized);
        String[] names = featureColumns.toArray(new String[0]);
        MapPartitionsFunction<Row, Row> predicting = rows -> {
            TaskThreads.apply();
            return new Batched(rows, rowsPerBatch(names.length), batch -> {
                Model<?> loaded = ExecutorCache.get(key, () -> deserialize(proto.value()));
                List<Object> results = predictions(loaded, batch, readers, names, label, dimensions);
                List<Row> appended = new ArrayList<>(batch.size());
                for (int i = 0; i < batch.size(); i++) {
                    Row r = batch.get(i);
                    Object[] values = new Object[r.size() + 1];
                    for (int c = 0; c < r.size(); c++) {
                        values[c] = r.get(c);
                    }
                    values[r.size()] = results.get(i);
                    appended.add(RowFactory.create(values));
                }
                return appended;
            });
        };
        return data.mapPartitions(predicting, Encoders.row(out));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static List<Object> predictions(Model model, List<Row> batch, List<Columns.Reader> readers,
                                            String[] names, boolean label, int dimensions) {
        Output unknown = label ? LabelFactory.UNKNOWN_LABEL : RegressionFactory.UNKNOWN_REGRESSOR;
        List<Example> examples = new ArrayList<>(batch.size());
        double[] values = new double[names.length];
        for (Row row : batch) {
            for (int k = 0; k < readers.size(); k++) {
                readers.get(k).read(row, values, k);
            }
            examples.add(new ArrayExample(unknown, names, values.clone()));
        }
        List<Prediction> predictions = model.predict(examples);
        List<Object> results = new ArrayList<>(predictions.size());
        for (Prediction p : predictions) {
            Output o = p.getOutput();
            if (label) {
                results.add(((Label) o).getLabel());
            } else {
                double[] v = ((Regressor) o).getValues();
                results.add(dimensions == 1 ? (Object) v[0] : v);
            }
        }
        return results;
    }

    /** The rows per call for rows of {@code width} input values. */
    static int rowsPerBatch(long width) {
        return (int) Math.max(1, Math.min(MAX_BATCH_ROWS, MAX_BATCH_VALUES / Math.max(1, width)));
    }

    /** Bytes every executor JVM fetches once, however many tasks it runs. */
    static Broadcast<byte[]> broadcast(Dataset<Row> data, byte[] bytes) {
        return JavaSparkContext.fromSparkContext(data.sparkSession().sparkContext()).broadcast(bytes);
    }

    private static Model<?> deserialize(byte[] proto) {
        try {
            return Model.deserialize(ModelProto.parseFrom(proto));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The schema with a new column; refused if a column of that name exists. */
    static StructType withNewColumn(StructType schema, String column, DataType type) {
        Objects.requireNonNull(column, "outputColumn");
        for (String name : schema.fieldNames()) {
            if (name.equals(column)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "The data already have a column "
                        + "\"%s\"; name the output column otherwise.", column));
            }
        }
        return schema.add(column, type, false);
    }

    static byte[] saved(MutableNetwork network) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            network.save(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static MutableNetwork load(byte[] saved) {
        try {
            return MutableNetwork.load(new ByteArrayInputStream(saved));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pulls batches of rows of a fixed size, predicts each in one call, hands back the rows made of them. */
    private static final class Batched implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final int rowsPerBatch;
        private final UnaryOperator<List<Row>> predictor;
        private List<Row> pending = List.of();
        private int next;

        Batched(Iterator<Row> rows, int rowsPerBatch, UnaryOperator<List<Row>> predictor) {
            this.rows = rows;
            this.rowsPerBatch = rowsPerBatch;
            this.predictor = predictor;
        }

        @Override
        public boolean hasNext() {
            if (next < pending.size()) {
                return true;
            }
            next = 0;
            if (!rows.hasNext()) {
                pending = List.of();
                return false;
            }
            List<Row> batch = new ArrayList<>(rowsPerBatch);
            while (batch.size() < rowsPerBatch && rows.hasNext()) {
                batch.add(rows.next());
            }
            pending = predictor.apply(batch);
            return !pending.isEmpty();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return pending.get(next++);
        }
    }
}
