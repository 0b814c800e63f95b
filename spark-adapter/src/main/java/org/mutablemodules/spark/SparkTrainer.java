package org.mutablemodules.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.IntConsumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a converted network or any mutable graph (a hypernetwork included) on a Spark DataFrame, data-parallel and
 * synchronous: each step, every partition computes the gradient sum of its rows with the current parameters, the sums
 * are added in partition order on the driver, and the driver's {@link GraphTrainer} applies their mean once, with the
 * library's own updaters. A step therefore equals one full-batch {@link GraphTrainer} step on one machine over all the
 * rows (tested to 1e-10 in DOUBLE for 1, 2 and 4 partitions), whatever the number of partitions.
 *
 * <pre>{@code
 * SparkTrainer trainer = SparkTrainer.builder(network).features("x").labels("y").updater(new Adam(1e-3)).build();
 * double[] losses = trainer.fit(data, 200);                 // the network is trained in place
 * SparkTrainer.builder(graph).loss("loss").feed("x", "input").feed("task", "task").feed("y", "labels")
 *         .updater(new Adam(1e-3)).checkpoint(Path.of("run.mmg"), 50).build().fit(data, 500);
 * }</pre>
 *
 * <ul>
 *   <li><b>Loss</b>: the graph's loss must be a mean over the rows fed (as a converted network's score is), so that
 *       the mean of the partitions' gradients weighted by their rows is the full batch's.</li>
 *   <li><b>Data</b>: each fed column is {@code array<double>}, {@code array<float>}, a Spark ML {@code Vector} or a
 *       number, one example's values in 'c' order of its placeholder (a series {@code features x time} in NCW); a
 *       placeholder's one open dimension (a series' length) is taken from the rows, the same in all of them, and
 *       more need {@link Builder#exampleShape}. The rows are read once per {@code fit} into cached blocks of primitive
 *       arrays (one job, which also refuses nulls, NaN and other widths, naming the column, before any step); columns
 *       missing or of another type are refused before any job runs.</li>
 *   <li><b>Faults</b>: a task is a pure function of its partition and the step's parameters, so a task Spark retries
 *       (or runs twice speculatively) gives the same result. {@link Builder#checkpoint} saves the network or graph
 *       with the trainer's state every N steps in the library's format: a new trainer built on the loaded file goes
 *       on with the losses an uninterrupted run would have had.</li>
 *   <li><b>Local steps</b>: {@link Builder#localSteps(int)} with k &gt; 1 trains each partition k steps on its own
 *       rows (full partition batches, a fresh updater each round) and averages the parameters, weighted by rows
 *       (parameter averaging): fewer synchronisations, a different trajectory.</li>
 *   <li><b>Progress</b> through SLF4J at INFO every {@link Builder#logEvery(int)} steps.</li>
 * </ul>
 */
public final class SparkTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);
    /** Rows per cached block. */
    static final int BLOCK = 1024;
    /** Called at the start of every training task with its partition index, for tests that fail a task on purpose. */
    static volatile IntConsumer taskHook = index -> { };

    private final MutableNetwork network;
    private final MutableGraph graph;
    private final String loss;
    private final Map<String, String> feeds;
    /** Per fed placeholder: how a row fills one example. */
    private final Map<String, ExampleShape> examples;
    private final IUpdater updater;
    private final int localSteps;
    private final Path checkpoint;
    private final int checkpointEvery;
    private final int logEvery;
    private final GraphTrainer trainer;

    private SparkTrainer(Builder b) {
        this.network = b.network;
        this.graph = b.graph;
        this.loss = b.loss;
        // in the order the columns were set: the data are checked, and refused, column after column in that order
        this.feeds = Collections.unmodifiableMap(new LinkedHashMap<>(b.feeds));
        this.examples = Map.copyOf(b.examples);
        this.updater = b.updater;
        this.localSteps = b.localSteps;
        this.checkpoint = b.checkpoint;
        this.checkpointEvery = b.checkpointEvery;
        this.logEvery = b.logEvery;
        this.trainer = GraphTrainer.builder(graph).loss(loss).updater(updater).build();
    }

    /**
     * Starts a trainer of a converted network: {@code features} and {@code labels} name its columns.
     *
     * @param network a network with one input and one output layer
     * @return a builder
     */
    public static Builder builder(MutableNetwork network) {
        Objects.requireNonNull(network, "network");
        Builder b = new Builder(network.graph(), network);
        b.loss = network.lossName();
        return b;
    }

    /**
     * Starts a trainer of a mutable graph: {@code loss} names its loss, {@code feed} each column's placeholder.
     *
     * @param graph the graph
     * @return a builder
     */
    public static Builder builder(MutableGraph graph) {
        return new Builder(Objects.requireNonNull(graph, "graph"), null);
    }

    /** Options of a {@link SparkTrainer}: the updater and the columns are required. */
    public static final class Builder {
        private final MutableGraph graph;
        private final MutableNetwork network;
        private String loss;
        private final Map<String, String> feeds = new LinkedHashMap<>();
        private final Map<String, long[]> exampleShapes = new LinkedHashMap<>();
        private final Map<String, ExampleShape> examples = new LinkedHashMap<>();
        private IUpdater updater;
        private int localSteps = 1;
        private Path checkpoint;
        private int checkpointEvery;
        private int logEvery;

        private Builder(MutableGraph graph, MutableNetwork network) {
            this.graph = graph;
            this.network = network;
        }

        /**
         * The column of a converted network's input.
         *
         * @param column the column's name
         * @return this builder
         */
        public Builder features(String column) {
            requireNetwork("features");
            return feed(column, network.inputName());
        }

        /**
         * The column of a converted network's labels.
         *
         * @param column the column's name
         * @return this builder
         */
        public Builder labels(String column) {
            requireNetwork("labels");
            return feed(column, network.labelName());
        }

        /**
         * The loss variable of a graph (a converted network's score by default).
         *
         * @param name the variable's name
         * @return this builder
         */
        public Builder loss(String name) {
            this.loss = Objects.requireNonNull(name, "loss");
            return this;
        }

        /**
         * Feeds a placeholder from a column (a hypernetwork's task column, say).
         *
         * @param column      the column's name
         * @param placeholder the placeholder's name
         * @return this builder
         */
        public Builder feed(String column, String placeholder) {
            feeds.put(Objects.requireNonNull(placeholder, "placeholder"), Objects.requireNonNull(column, "column"));
            return this;
        }

        /**
         * The shape of one example of a column's rows, where the placeholder it feeds leaves more than one dimension
         * open (a convolutional network's image of any height and width: {@code {channels, height, width}} in NCHW).
         * A row holds an example's values in 'c' order; with at most one open dimension (a series of any length) the
         * rows' width fixes it and no shape is needed.
         *
         * @param column       the column's name
         * @param exampleShape the dimensions of one example, without the batch dimension
         * @return this builder
         */
        public Builder exampleShape(String column, long... exampleShape) {
            exampleShapes.put(Objects.requireNonNull(column, "column"),
                    Objects.requireNonNull(exampleShape, "exampleShape").clone());
            return this;
        }

        /**
         * The updater the driver applies (required).
         *
         * @param updater an ND4J updater configuration
         * @return this builder
         */
        public Builder updater(IUpdater updater) {
            this.updater = Objects.requireNonNull(updater, "updater");
            return this;
        }

        /**
         * Local steps per synchronisation: 1 (default) for synchronous full-batch steps, more for parameter averaging.
         *
         * @param steps at least 1
         * @return this builder
         */
        public Builder localSteps(int steps) {
            if (steps < 1) {
                throw new IllegalArgumentException("The number of local steps must be at least 1; got " + steps + ".");
            }
            this.localSteps = steps;
            return this;
        }

        /**
         * Saves the network or graph, with the trainer's state, to {@code file} every {@code steps} steps (and after
         * the last), in the library's format, written beside the file and moved into place.
         *
         * @param file  the file
         * @param steps the interval, at least 1
         * @return this builder
         */
        public Builder checkpoint(Path file, int steps) {
            if (steps < 1) {
                throw new IllegalArgumentException("The checkpoint interval must be at least 1 step; got " + steps
                        + ".");
            }
            this.checkpoint = Objects.requireNonNull(file, "file");
            this.checkpointEvery = steps;
            return this;
        }

        /**
         * Logs progress through SLF4J at INFO every {@code steps} steps (0: never, the default).
         *
         * @param steps the interval
         * @return this builder
         */
        public Builder logEvery(int steps) {
            if (steps < 0) {
                throw new IllegalArgumentException("The log interval must be at least 0; got " + steps + ".");
            }
            this.logEvery = steps;
            return this;
        }

        /**
         * Checks the options and builds the trainer (and the driver's {@link GraphTrainer}).
         *
         * @return the trainer
         * @throws IllegalArgumentException if no updater, loss or column was set, a fed name is not a placeholder, a
         *                                  placeholder leaves several dimensions of an example open and its column has
         *                                  no example shape, or an example shape is given for a column not fed or
         *                                  disagrees with its placeholder
         */
        public SparkTrainer build() {
            if (updater == null) {
                throw new IllegalArgumentException("No updater was set: call updater(...), for example "
                        + "updater(new Adam(1e-3)).");
            }
            if (loss == null) {
                throw new IllegalArgumentException("No loss was named: call loss(...).");
            }
            if (feeds.isEmpty()) {
                throw new IllegalArgumentException("No column is fed: call features(...) and labels(...), or "
                        + "feed(column, placeholder).");
            }
            for (String placeholder : feeds.keySet()) {
                SDVariable v = graph.sameDiff().hasVariable(placeholder) ? graph.sameDiff().getVariable(placeholder)
                        : null;
                if (v == null || !v.isPlaceHolder()) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT, "\"%s\" is not a placeholder of "
                            + "the graph: a column can only feed a placeholder.", placeholder));
                }
            }
            for (String column : exampleShapes.keySet()) {
                if (!feeds.containsValue(column)) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT, "An example shape is given for the "
                            + "column \"%s\", which feeds no placeholder; the columns fed: %s.", column,
                            feeds.values()));
                }
            }
            examples.clear();
            feeds.forEach((placeholder, column) -> examples.put(placeholder, ExampleShape.of(
                    graph.sameDiff().getVariable(placeholder).placeholderShape(), exampleShapes.get(column),
                    String.format(Locale.ROOT, "placeholder \"%s\" (column \"%s\")", placeholder, column))));
            Set<String> missing = new TreeSet<>(graph.requiredPlaceholders(loss));
            missing.removeAll(feeds.keySet());
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "The loss \"%s\" needs the "
                        + "placeholders %s, which no column feeds: add feed(column, placeholder).", loss, missing));
            }
            return new SparkTrainer(this);
        }

        private void requireNetwork(String what) {
            if (network == null) {
                throw new IllegalStateException(what + "(...) names a converted network's column; for a graph, use "
                        + "feed(column, placeholder).");
            }
        }
    }

    /**
     * The driver's trainer: its iteration count, trained variables and updater state (for saving with the graph).
     *
     * @return the trainer
     */
    public GraphTrainer trainer() {
        return trainer;
    }

    /**
     * Trains {@code steps} synchronous steps over all of {@code data}; the network or graph is trained in place.
     *
     * @param data  the rows: one column per fed placeholder
     * @param steps the number of steps, at least 0
     * @return each step's loss (the full batch's mean loss before the step, plus any regularisation)
     * @throws IllegalArgumentException if a column is missing, of another type, or holds a null, NaN, another width
     *                                  or, for an input of open length, rows of several lengths (named); nothing is
     *                                  trained then
     * @throws UncheckedIOException     if a checkpoint cannot be written
     */
    public double[] fit(Dataset<Row> data, int steps) {
        Objects.requireNonNull(data, "data");
        if (steps < 0) {
            throw new IllegalArgumentException("The number of steps must be at least 0; got " + steps + ".");
        }
        List<String> placeholders = new ArrayList<>(feeds.keySet());
        List<Columns.Reader> readers = new ArrayList<>();
        List<ExampleShape> shapes = new ArrayList<>();
        for (String p : placeholders) {
            shapes.add(examples.get(p));
            readers.add(Columns.Reader.of(data.schema(), feeds.get(p), "\"" + p + "\"", examples.get(p).width()));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(data.sparkSession().sparkContext());
        JavaRDD<Block> blocks = data.toJavaRDD().mapPartitions(rows -> Block.of(rows, readers, shapes)).persist(
                StorageLevel.MEMORY_ONLY());
        List<String> variables = List.copyOf(trainer.trainedVariables());
        String key = UUID.randomUUID().toString();
        Broadcast<byte[]> saved = jsc.broadcast(saved());
        boolean isNetwork = network != null;
        List<DataType> types = new ArrayList<>();
        placeholders.forEach(p -> types.add(graph.sameDiff().getVariable(p).dataType()));
        double[] losses = new double[steps];
        try {
            long rows = unwrapped(() -> blocks.map(b -> (long) b.rows()).fold(0L, Long::sum));
            if (readers.stream().anyMatch(r -> r.width() < 0)) {
                requireOneWidth(blocks, readers);
            }
            long windowStart = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                Broadcast<Values> values = jsc.broadcast(Values.of(graph, variables, trainer.iteration()));
                String lossName = loss;
                int local = localSteps;
                IUpdater u = updater;
                List<Partial> partials = unwrapped(() -> blocks.mapPartitionsWithIndex((index, it) -> List.of(
                        Partial.of(index, it, key, saved, isNetwork, values.value(), placeholders, shapes, types,
                                lossName, local, u)).iterator(), false).collect());
                values.destroy();
                losses[s] = combine(partials, variables, rows);
                if (checkpoint != null && ((s + 1) % checkpointEvery == 0 || s == steps - 1)) {
                    save(checkpoint);
                }
                if (logEvery > 0 && (s + 1) % logEvery == 0) {
                    long now = System.nanoTime();
                    LOG.info("Spark training \"{}\": step {}/{}, loss {}, {} ms per step", loss, s + 1, steps,
                            String.format(Locale.ROOT, "%.5g", losses[s]),
                            String.format(Locale.ROOT, "%.1f", (now - windowStart) / 1e6 / logEvery));
                    windowStart = now;
                }
            }
        } finally {
            blocks.unpersist(false);
            saved.destroy();
        }
        return losses;
    }

    /**
     * Refuses a column of open width whose rows have several widths (series of several lengths): a step's loss is
     * that of all rows as one array, as on one machine, which takes rows of one width.
     */
    private static void requireOneWidth(JavaRDD<Block> blocks, List<Columns.Reader> readers) {
        List<int[]> widths = unwrapped(() -> blocks.map(Block::widths).collect());
        for (int c = 0; c < readers.size(); c++) {
            Set<Integer> seen = new TreeSet<>();
            for (int[] w : widths) {
                seen.add(w[c]);
            }
            if (seen.size() > 1) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds rows of %s values "
                        + "(series of several lengths?); a step trains on all rows as one array, which takes rows of "
                        + "one width.", readers.get(c).column(), seen));
            }
        }
    }

    /** Adds the partitions' sums in partition order and applies the step; returns the step's loss. */
    private double combine(List<Partial> partials, List<String> variables, long rows) {
        List<Partial> ordered = new ArrayList<>(partials);
        ordered.sort(Comparator.comparingInt(Partial::index));
        double lossSum = 0;
        long count = 0;
        Map<String, double[]> sums = new LinkedHashMap<>();
        for (Partial p : ordered) {
            if (p.count() == 0) {
                continue;
            }
            lossSum += p.lossSum();
            count += p.count();
            p.sums().forEach((v, sum) -> {
                double[] total = sums.computeIfAbsent(v, k -> new double[sum.length]);
                for (int i = 0; i < sum.length; i++) {
                    total[i] += sum[i];
                }
            });
        }
        if (count != rows) {
            throw new IllegalStateException("The partitions reported " + count + " rows; the data have " + rows + ".");
        }
        Map<String, INDArray> means = new LinkedHashMap<>();
        for (String v : variables) {
            double[] sum = sums.get(v);
            if (sum == null) {
                continue;
            }
            INDArray arr = graph.sameDiff().getVariable(v).getArr();
            double[] mean = new double[sum.length];
            for (int i = 0; i < sum.length; i++) {
                mean[i] = sum[i] / count;
            }
            means.put(v, Columns.array(mean, arr.shape()).castTo(arr.dataType()));
        }
        if (localSteps == 1) {
            return lossSum / count + trainer.applyGradients(means);
        }
        graph.setValues(means);         // parameter averaging: the sums are of parameters, weighted by rows
        return lossSum / count;
    }

    private void save(Path file) {
        try {
            if (network != null) {
                network.save(file, trainer);
            } else {
                graph.save(file, trainer);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    private byte[] saved() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (network != null) {
                network.save(out);
            } else {
                graph.save(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Runs a Spark action, rethrowing a refusal of the data (an IllegalArgumentException in a task) as itself. */
    private static <T> T unwrapped(java.util.function.Supplier<T> action) {
        try {
            return action.get();
        } catch (Exception e) {         // Spark's SparkException is checked, thrown through Scala undeclared
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException refusal) {
                    throw new IllegalArgumentException(refusal.getMessage(), e);
                }
            }
            // a task's exception may reach the driver as text only
            String marker = IllegalArgumentException.class.getName() + ": ";
            String message = String.valueOf(e.getMessage());
            int at = message.indexOf(marker);
            if (at >= 0) {
                String refusal = message.substring(at + marker.length()).lines().findFirst().orElse("");
                throw new IllegalArgumentException(refusal, e);
            }
            throw SparkTrainer.<RuntimeException>rethrown(e);
        }
    }

    /** Rethrows {@code e} as it is, checked or not, as Spark's Scala code throws it. */
    @SuppressWarnings("unchecked")
    private static <E extends Exception> E rethrown(Exception e) throws E {
        throw (E) e;
    }

    /** Up to {@link #BLOCK} rows of a partition, each fed column's values row after row. */
    record Block(int rows, List<double[]> columns, int[] widths) implements Serializable {

        private static final long serialVersionUID = 1L;

        /**
         * The partition's rows in blocks of up to {@link #BLOCK} rows; a new block also where a column of open width
         * changes width (series of another length), since a block is one array per column.
         */
        static Iterator<Block> of(Iterator<Row> rows, List<Columns.Reader> readers, List<ExampleShape> shapes) {
            List<Block> blocks = new ArrayList<>();
            List<Row> batch = new ArrayList<>(BLOCK);
            int[] widths = null;
            while (rows.hasNext()) {
                Row row = rows.next();
                int[] w = widths(row, readers);
                if (!batch.isEmpty() && (batch.size() == BLOCK || !Arrays.equals(w, widths))) {
                    blocks.add(block(batch, readers, shapes, widths));
                    batch.clear();
                }
                batch.add(row);
                widths = w;
            }
            if (!batch.isEmpty()) {
                blocks.add(block(batch, readers, shapes, widths));
            }
            return blocks.iterator();
        }

        private static int[] widths(Row row, List<Columns.Reader> readers) {
            int[] widths = new int[readers.size()];
            for (int c = 0; c < readers.size(); c++) {
                Columns.Reader r = readers.get(c);
                widths[c] = r.width() >= 0 ? (int) r.width() : r.widthOf(row);
            }
            return widths;
        }

        private static Block block(List<Row> batch, List<Columns.Reader> readers, List<ExampleShape> shapes,
                                   int[] widths) {
            List<double[]> columns = new ArrayList<>();
            for (int c = 0; c < readers.size(); c++) {
                Columns.Reader r = readers.get(c);
                int w = widths[c];
                // a width the example cannot take (not a multiple of a series' features) is refused here, by name
                shapes.get(c).batchShape(batch.size(), w, r.column());
                double[] values = new double[batch.size() * w];
                Columns.Reader fixed = r.withWidth(w);
                for (int i = 0; i < batch.size(); i++) {
                    fixed.read(batch.get(i), values, i * w);
                }
                columns.add(values);
            }
            return new Block(batch.size(), columns, widths.clone());
        }
    }

    /** The trained variables' values of a step, broadcast to the executors. */
    record Values(long version, Map<String, double[]> data, Map<String, long[]> shapes) implements Serializable {

        private static final long serialVersionUID = 1L;

        static Values of(MutableGraph graph, List<String> variables, long version) {
            Map<String, double[]> data = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (String v : variables) {
                INDArray arr = graph.sameDiff().getVariable(v).getArr();
                data.put(v, arr.dup('c').castTo(DataType.DOUBLE).data().asDouble());
                shapes.put(v, arr.shape());
            }
            return new Values(version, data, shapes);
        }

        Map<String, INDArray> arrays(MutableGraph graph) {
            Map<String, INDArray> arrays = new LinkedHashMap<>();
            data.forEach((v, d) -> arrays.put(v, Columns.array(d, shapes.get(v))
                    .castTo(graph.sameDiff().getVariable(v).dataType())));
            return arrays;
        }
    }

    /** A partition's contribution: per variable the gradient (or parameter) sum weighted by rows, the loss sum. */
    record Partial(int index, Map<String, double[]> sums, double lossSum, long count) implements Serializable {

        private static final long serialVersionUID = 1L;

        static Partial of(int index, Iterator<Block> blocks, String key, Broadcast<byte[]> saved, boolean isNetwork,
                          Values values, List<String> placeholders, List<ExampleShape> shapes, List<DataType> types,
                          String loss, int localSteps, IUpdater updater) {
            taskHook.accept(index);
            TaskThreads.apply();
            List<Block> all = new ArrayList<>();
            blocks.forEachRemaining(all::add);
            if (localSteps > 1) {
                return localAverage(index, all, load(saved.value(), isNetwork), values, placeholders, shapes, types,
                        loss, localSteps, updater);
            }
            Executor executor = ExecutorCache.get(key, () -> new Executor(load(saved.value(), isNetwork)));
            executor.sync(values);
            Map<String, double[]> sums = new LinkedHashMap<>();
            double lossSum = 0;
            long count = 0;
            String[] variables = values.data().keySet().toArray(new String[0]);
            for (Block b : all) {
                Map<String, INDArray> feed = feed(b, placeholders, shapes, types);
                Map<String, INDArray> gradients = executor.graph.gradientsOf(loss, feed, variables);
                double blockLoss = executor.graph.output(feed, loss).get(loss).getDouble(0);
                gradients.forEach((v, g) -> {
                    double[] flat = g.dup('c').castTo(DataType.DOUBLE).data().asDouble();
                    double[] sum = sums.computeIfAbsent(v, k -> new double[flat.length]);
                    for (int i = 0; i < flat.length; i++) {
                        sum[i] += b.rows() * flat[i];
                    }
                });
                lossSum += b.rows() * blockLoss;
                count += b.rows();
            }
            return new Partial(index, sums, lossSum, count);
        }

        /** Local steps on the partition's rows from the step's values; the resulting parameters weighted by rows. */
        private static Partial localAverage(int index, List<Block> blocks, MutableGraph graph, Values values,
                                            List<String> placeholders, List<ExampleShape> shapes, List<DataType> types,
                                            String loss, int localSteps, IUpdater updater) {
            graph.setValues(values.arrays(graph));
            long count = blocks.stream().mapToLong(Block::rows).sum();
            if (count == 0) {
                return new Partial(index, Map.of(), 0, 0);
            }
            Map<String, INDArray> feed = feed(merged(blocks), placeholders, shapes, types);
            GraphTrainer local = GraphTrainer.builder(graph).loss(loss).updater(updater.clone()).build();
            double firstLoss = local.step(feed);
            for (int k = 1; k < localSteps; k++) {
                local.step(feed);
            }
            Map<String, double[]> sums = new LinkedHashMap<>();
            for (String v : values.data().keySet()) {
                double[] flat = graph.sameDiff().getVariable(v).getArr().dup('c').castTo(DataType.DOUBLE).data()
                        .asDouble();
                for (int i = 0; i < flat.length; i++) {
                    flat[i] *= count;
                }
                sums.put(v, flat);
            }
            return new Partial(index, sums, firstLoss * count, count);
        }

        private static Block merged(List<Block> blocks) {
            int rows = blocks.stream().mapToInt(Block::rows).sum();
            int[] widths = blocks.get(0).widths();
            List<double[]> columns = new ArrayList<>();
            for (int c = 0; c < widths.length; c++) {
                double[] all = new double[rows * widths[c]];
                int offset = 0;
                for (Block b : blocks) {
                    System.arraycopy(b.columns().get(c), 0, all, offset, b.columns().get(c).length);
                    offset += b.columns().get(c).length;
                }
                columns.add(all);
            }
            return new Block(rows, columns, widths);
        }

        private static Map<String, INDArray> feed(Block b, List<String> placeholders, List<ExampleShape> shapes,
                                                  List<DataType> types) {
            Map<String, INDArray> feed = new LinkedHashMap<>();
            for (int c = 0; c < placeholders.size(); c++) {
                long[] shape = shapes.get(c).batchShape(b.rows(), b.widths()[c], placeholders.get(c));
                feed.put(placeholders.get(c), Columns.array(b.columns().get(c), shape)
                        .castTo(types.get(c)));
            }
            return feed;
        }
    }

    /** An executor JVM's copy of the graph, set to each step's values once, whatever number of tasks use it. */
    static final class Executor {
        final MutableGraph graph;
        private long version = -1;

        Executor(MutableGraph graph) {
            this.graph = graph;
        }

        synchronized void sync(Values values) {
            if (version != values.version()) {
                graph.setValues(values.arrays(graph));
                version = values.version();
            }
        }
    }

    private static MutableGraph load(byte[] saved, boolean isNetwork) {
        try {
            return isNetwork ? MutableNetwork.load(new ByteArrayInputStream(saved)).graph()
                    : MutableGraph.load(new ByteArrayInputStream(saved));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
