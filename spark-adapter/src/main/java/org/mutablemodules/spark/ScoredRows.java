package org.mutablemodules.spark;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Supplier;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.unsafe.Platform;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One partition's rows, each with the network's output appended ({@code array<double>}), scored batch by batch.
 *
 * <p>Nothing is allocated per row: a row's features are read into the batch's ND4J array as it arrives (while Spark's
 * copy of it is in the cache), the row itself is copied into one block of memory, the outputs are written into one
 * block laid out as Spark's arrays, and every row handed back is the same object pointed at the next row's memory.
 * That is Spark's contract for internal rows (the scan that turns this RDD into a DataFrame copies each row it
 * receives before asking for the next); objects per row cost more than a small network's work for the row.
 */
final class ScoredRows implements Iterator<InternalRow> {
    private final Iterator<InternalRow> rows;
    private final Supplier<MutableNetwork> network;
    private final Columns.Reader reader;
    private final ExampleShape example;
    private final DataType type;
    private final String column;

    private final RowCopies kept = new RowCopies();
    private final OutputArrays outputs = new OutputArrays();
    private final UnsafeArrayData output = new UnsafeArrayData();
    private final GenericInternalRow outputRow = new GenericInternalRow(new Object[] {output});
    private final JoinedRow joined = new JoinedRow();
    private Columns.ArrayWriter input;
    /**
     * The row, of another width than its batch's, that starts the next batch. Not a copy: the partition's iterator is
     * not asked for anything more before that batch has read and copied it.
     */
    private InternalRow carried;
    private int size;
    private int next;

    /**
     * @param rows    the partition's rows (Spark's internal rows, which their iterator may reuse)
     * @param network the network, asked for at each batch (loaded by the first)
     * @param reader  the features column's reader, of the input's width or -1 for an open one
     * @param example the shape of one example
     * @param type    the type of the network's input
     * @param column  the features column, for messages
     */
    ScoredRows(Iterator<InternalRow> rows, Supplier<MutableNetwork> network, Columns.Reader reader,
               ExampleShape example, DataType type, String column) {
        this.rows = rows;
        this.network = network;
        this.reader = reader;
        this.example = example;
        this.type = type;
        this.column = column;
    }

    @Override
    public boolean hasNext() {
        if (next < size) {
            return true;
        }
        next = 0;
        size = scoreBatch();
        return size > 0;
    }

    @Override
    public InternalRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int i = next++;
        output.pointTo(outputs.block, outputs.offset(i), outputs.bytes());
        return joined.apply(kept.row(i), outputRow);
    }

    /** Pulls, reads and scores the next batch: rows of one width, at most as many as one call takes. */
    private int scoreBatch() {
        InternalRow first = carried;
        carried = null;
        if (first == null) {
            if (!rows.hasNext()) {
                return 0;
            }
            first = rows.next();
        }
        boolean open = reader.width() < 0;
        int w = open ? reader.widthOf(first) : (int) reader.width();
        Columns.Reader run = open ? reader.withWidth(w) : reader;
        int capacity = SparkScoring.rowsPerBatch(w);
        long[] shape = example.batchShape(capacity, w, column);
        if (input == null || !input.holds(shape, type)) {
            input = new Columns.ArrayWriter(shape, type);
        }
        kept.clear(capacity);
        int n = 0;
        InternalRow row = first;
        while (true) {
            run.read(row, input, n * w);
            kept.add(row);
            n++;
            if (n == capacity || !rows.hasNext()) {
                break;
            }
            row = rows.next();
            if (open && reader.widthOf(row) != w) {
                carried = row;
                break;
            }
        }
        INDArray y = network.get().output(input.firstRows(n));
        outputs.fill(y, n);
        // The output is this call's own and has been read: its memory goes back now, not at the JVM's next
        // collection. Left to the collector, every batch got fresh native memory, which the system hands out page by
        // page and ND4J zeroes.
        if (y.closeable()) {
            y.close();
        }
        return n;
    }

    /**
     * Copies of a batch's rows (their iterator reuses Spark's) in one block of memory reused from batch to batch,
     * handed back through one row object pointed at each in turn.
     */
    private static final class RowCopies {
        private byte[] block = new byte[1 << 16];
        private int used;
        private int count;
        private int[] offsets = new int[0];
        private int[] sizes = new int[0];
        /** Copies of rows that are not Spark's unsafe rows (their size is -1). */
        private InternalRow[] others = new InternalRow[0];
        private UnsafeRow view;

        void clear(int capacity) {
            used = 0;
            count = 0;
            if (offsets.length < capacity) {
                offsets = new int[capacity];
                sizes = new int[capacity];
                others = new InternalRow[capacity];
            }
        }

        void add(InternalRow row) {
            if (row instanceof UnsafeRow unsafe) {
                int size = unsafe.getSizeInBytes();
                if (used + size > block.length) {
                    // the rows kept so far move along: their offsets stay
                    block = Arrays.copyOf(block, Math.max(2 * block.length, used + size));
                }
                unsafe.writeToMemory(block, Platform.BYTE_ARRAY_OFFSET + used);
                if (view == null || view.numFields() != unsafe.numFields()) {
                    view = new UnsafeRow(unsafe.numFields());
                }
                offsets[count] = used;
                sizes[count] = size;
                others[count] = null;
                used += size;
            } else {
                sizes[count] = -1;
                others[count] = row.copy();
            }
            count++;
        }

        InternalRow row(int i) {
            if (sizes[i] < 0) {
                return others[i];
            }
            view.pointTo(block, Platform.BYTE_ARRAY_OFFSET + offsets[i], sizes[i]);
            return view;
        }
    }

    /**
     * A batch's outputs as Spark arrays of doubles in one block, in the layout of Spark's {@link UnsafeArrayData}:
     * per row the number of values, the words of null bits (none set), the values.
     */
    private static final class OutputArrays {
        private long[] block = new long[0];
        private double[] values = new double[0];
        /** Words per row. */
        private int stride;

        void fill(INDArray y, int rows) {
            int columns = (int) (y.length() / rows);
            int nullWords = (columns + 63) / 64;
            stride = 1 + nullWords + columns;
            if (block.length < rows * stride) {
                block = new long[rows * stride];
            }
            values = Columns.values(y, values);
            for (int i = 0, at = 0; i < rows; i++) {
                block[at++] = columns;
                for (int k = 0; k < nullWords; k++) {
                    block[at++] = 0;
                }
                for (int k = 0, from = i * columns; k < columns; k++) {
                    block[at++] = Double.doubleToRawLongBits(values[from + k]);
                }
            }
        }

        long offset(int row) {
            return Platform.LONG_ARRAY_OFFSET + 8L * row * stride;
        }

        int bytes() {
            return 8 * stride;
        }
    }
}
