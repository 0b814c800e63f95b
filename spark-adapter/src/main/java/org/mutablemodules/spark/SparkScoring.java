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
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
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
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
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
            return new Batched<>(partition, new RowBlock(), first -> rowsPerBatch(width >= 0 ? width
                    : reader.widthOf(first)), new PartitionScorer(() -> ExecutorCache.get(key,
                    () -> load(saved.value())), reader, example, type, featuresColumn));
        };
        JavaRDD<InternalRow> scored = rows.toJavaRDD().mapPartitions(scoring);
        return classic.sparkSession().internalCreateDataFrame(scored.rdd(), out, false);
    }

    /**
     * Scores the batches of one partition, each row with its output appended. The input array and the outputs' values
     * are reused from batch to batch: a new ND4J array per batch cost more than the network itself (ND4J zeroes each
     * new buffer, and the memory came back from the system page by page: 40% of the executors' time in a profile of a
     * million rows of a small network).
     */
    private static final class PartitionScorer implements Function<List<InternalRow>, List<InternalRow>> {
        private final Supplier<MutableNetwork> network;
        private final Columns.Reader reader;
        private final ExampleShape example;
        private final org.nd4j.linalg.api.buffer.DataType type;
        private final String column;
        private Columns.ArrayWriter input;
        private double[] outputs = new double[0];

        PartitionScorer(Supplier<MutableNetwork> network, Columns.Reader reader, ExampleShape example,
                        org.nd4j.linalg.api.buffer.DataType type, String column) {
            this.network = network;
            this.reader = reader;
            this.example = example;
            this.type = type;
            this.column = column;
        }

        @Override
        public List<InternalRow> apply(List<InternalRow> batch) {
            MutableNetwork net = network.get();
            List<InternalRow> results = new ArrayList<>(batch.size());
            long width = reader.width();
            // an open dimension (a series' length): one call per run of rows of one width
            for (int from = 0, to; from < batch.size(); from = to) {
                int w = width >= 0 ? (int) width : reader.widthOf(batch.get(from));
                to = from + 1;
                while (to < batch.size() && (width >= 0 || reader.widthOf(batch.get(to)) == w)) {
                    to++;
                }
                scoreRun(net, batch.subList(from, to), reader.withWidth(w), example.batchShape(to - from, w, column),
                        results);
            }
            return results;
        }

        /** Rows of one width through the network in one call. */
        private void scoreRun(MutableNetwork net, List<InternalRow> rows, Columns.Reader run, long[] shape,
                              List<InternalRow> results) {
            int n = rows.size();
            int w = (int) run.width();
            if (input == null || !input.holds(shape, type)) {
                input = new Columns.ArrayWriter(shape, type);
            }
            for (int i = 0; i < n; i++) {
                run.read(rows.get(i), input, i * w);
            }
            INDArray y = net.output(input.array());
            int columns = (int) (y.length() / n);
            outputs = Columns.values(y, outputs);
            for (int i = 0; i < n; i++) {
                UnsafeArrayData out = UnsafeArrayData.fromPrimitiveArray(outputs, Platform.DOUBLE_ARRAY_OFFSET
                        + i * columns * Double.BYTES, columns, Double.BYTES);
                results.add(new JoinedRow(rows.get(i), new GenericInternalRow(new Object[] {out})));
            }
        }
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
            return new Batched<>(rows, Holder.same(), first -> rowsPerBatch(names.length), batch -> {
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

    /**
     * What keeps the rows of a batch while it is scored: the rows themselves, or copies of rows their iterator reuses.
     *
     * @param <R> the rows' type
     */
    private interface Holder<R> extends UnaryOperator<R> {
        /** Called before the first row of each batch: the previous batch's rows are no longer read. */
        void startBatch();

        /** Keeps the rows as they are (rows their iterator does not reuse). */
        static <R> Holder<R> same() {
            return new Holder<>() {
                @Override
                public void startBatch() {
                }

                @Override
                public R apply(R row) {
                    return row;
                }
            };
        }
    }

    /**
     * Copies of Spark's internal rows (which their iterator reuses) in one block of memory reused from batch to batch,
     * instead of a new array per row ({@code UnsafeRow.copy}: a quarter of the scoring's time in a profile of a
     * million rows of a small network). A batch's rows are overwritten when the next batch starts: by then Spark has
     * read every scored row of it (the DataFrame's scan turns each row it receives into a row of its own at once).
     */
    private static final class RowBlock implements Holder<InternalRow> {
        private byte[] block = new byte[1 << 16];
        private int used;

        @Override
        public void startBatch() {
            used = 0;
        }

        @Override
        public InternalRow apply(InternalRow row) {
            if (!(row instanceof UnsafeRow unsafe)) {
                return row.copy();
            }
            int size = unsafe.getSizeInBytes();
            if (used + size > block.length) {
                // the rows kept so far stay in the old block; the next batches start in the larger one
                block = new byte[Math.max(2 * block.length, size)];
                used = 0;
            }
            UnsafeRow kept = new UnsafeRow(unsafe.numFields());
            unsafe.writeToMemory(block, Platform.BYTE_ARRAY_OFFSET + used);
            kept.pointTo(block, Platform.BYTE_ARRAY_OFFSET + used, size);
            used += size;
            return kept;
        }
    }

    /**
     * Pulls a batch of rows (as many as {@code rowsPerBatch} says from its first row), scores them in one call, hands
     * back the rows the scorer made of them.
     *
     * @param <R> the rows' type
     */
    private static final class Batched<R> implements Iterator<R> {
        private final Iterator<R> rows;
        private final Holder<R> keep;
        private final ToIntFunction<R> rowsPerBatch;
        private final Function<List<R>, List<R>> scorer;
        private List<R> pending = List.of();
        private int next;

        /** {@code keep} copies a row that its iterator may reuse (Spark's internal rows), for holding it. */
        Batched(Iterator<R> rows, Holder<R> keep, ToIntFunction<R> rowsPerBatch,
                Function<List<R>, List<R>> scorer) {
            this.rows = rows;
            this.keep = keep;
            this.rowsPerBatch = rowsPerBatch;
            this.scorer = scorer;
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
            keep.startBatch();
            R first = keep.apply(rows.next());
            int size = rowsPerBatch.applyAsInt(first);
            List<R> batch = new ArrayList<>(size);
            batch.add(first);
            while (batch.size() < size && rows.hasNext()) {
                batch.add(keep.apply(rows.next()));
            }
            pending = scorer.apply(batch);
            return !pending.isEmpty();
        }

        @Override
        public R next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return pending.get(next++);
        }
    }
}
