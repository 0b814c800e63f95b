package org.mutablemodules.spark;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * How one column of a DataFrame becomes a row of numbers: {@code array<double>}, {@code array<float>}, a Spark ML
 * {@code Vector}, or a number (one value). Checked against the schema before any job runs (a missing column, another
 * type), and row by row where the data are read (a null, a NaN or infinite value, another width), each refusal naming
 * the column and what was expected.
 */
final class Columns {

    /** The kind of a column's values. */
    enum Kind { DOUBLES, FLOATS, VECTOR, NUMBER }

    private Columns() {
    }

    /**
     * A DOUBLE array of {@code shape} holding {@code values} in 'c' order. Through a buffer made from the whole Java
     * array in one copy: {@code Nd4j.create(double[], shape, type)} writes the values one by one, which cost more
     * than scoring a small network.
     */
    static INDArray array(double[] values, long[] shape) {
        return Nd4j.create(Nd4j.createBuffer(values), shape);
    }

    /**
     * The values of {@code array} in 'c' order, as doubles, in {@code reuse} when it is long enough (its values past
     * the array's length left as they were), else in a new Java array.
     */
    static double[] values(INDArray array, double[] reuse) {
        INDArray c = array.isView() || array.ordering() != 'c' ? array.dup('c') : array;
        if (c.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT
                && c.dataType() != org.nd4j.linalg.api.buffer.DataType.DOUBLE) {
            c = c.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        }
        int n = (int) c.length();
        double[] out = reuse.length >= n ? reuse : new double[n];
        ByteBuffer bytes = c.data().asNio().order(ByteOrder.nativeOrder());
        if (c.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE) {
            bytes.asDoubleBuffer().get(0, out, 0, n);
        } else {
            FloatBuffer floats = bytes.asFloatBuffer();
            for (int i = 0; i < n; i++) {
                out[i] = floats.get(i);
            }
        }
        if (c != array && c.closeable()) {
            c.close();
        }
        return out;
    }

    /** The column's kind, or a refusal naming it and the schema's columns. */
    static Kind kind(StructType schema, String column, String role) {
        if (column == null) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "The %s column is not set.", role));
        }
        StructField field = null;
        for (StructField f : schema.fields()) {
            if (f.name().equals(column)) {
                field = f;
            }
        }
        if (field == null) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "The data have no %s column \"%s\"; its "
                    + "columns: %s.", role, column, List.of(schema.fieldNames())));
        }
        DataType type = field.dataType();
        if (type instanceof ArrayType a && a.elementType().equals(DataTypes.DoubleType)) {
            return Kind.DOUBLES;
        }
        if (type instanceof ArrayType a && a.elementType().equals(DataTypes.FloatType)) {
            return Kind.FLOATS;
        }
        if (type instanceof NumericType) {
            return Kind.NUMBER;
        }
        if ("org.apache.spark.ml.linalg.VectorUDT".equals(type.getClass().getName())) {
            return Kind.VECTOR;
        }
        throw new IllegalArgumentException(String.format(Locale.ROOT, "The %s column \"%s\" is of type %s; expected "
                + "array<double>, array<float>, a Spark ML Vector or a number.", role, column, type.simpleString()));
    }

    /**
     * An ND4J array of a shape and type (in 'c' order), written row by row straight into its memory: no Java array of
     * the whole batch between Spark's rows and the network. A batch's Java array of doubles was a "humongous" object
     * for the JVM's G1 collector (a megabyte for 4,096 rows of 32 values), each forcing a collection (60 of 130
     * collections in a profile of a million scored rows), and its copy into ND4J's memory and the cast to the
     * network's type were two more passes over it. One writer serves batch after batch of one shape.
     */
    static final class ArrayWriter {
        private final INDArray array;
        private final DoubleBuffer doubles;
        private final FloatBuffer floats;
        private final org.nd4j.linalg.api.buffer.DataType type;
        /** One row's values on their way in: Spark's bytes, then the array's type. */
        private double[] rowDoubles = new double[0];
        private float[] rowFloats = new float[0];

        /** An array of {@code shape} for values of {@code type} (other types than FLOAT and DOUBLE go by DOUBLE). */
        ArrayWriter(long[] shape, org.nd4j.linalg.api.buffer.DataType type) {
            this.type = type;
            boolean single = type == org.nd4j.linalg.api.buffer.DataType.FLOAT;
            array = Nd4j.createUninitializedDetached(single ? type : org.nd4j.linalg.api.buffer.DataType.DOUBLE,
                    shape);
            ByteBuffer bytes = array.data().asNio().order(ByteOrder.nativeOrder());
            doubles = single ? null : bytes.asDoubleBuffer();
            floats = single ? bytes.asFloatBuffer() : null;
        }

        /** Whether this writer's array is of {@code shape} for values of {@code type}. */
        boolean holds(long[] shape, org.nd4j.linalg.api.buffer.DataType type) {
            return this.type == type && Arrays.equals(array.shape(), shape);
        }

        /** Writes the value at a position of the array in 'c' order. */
        void put(int position, double value) {
            if (floats != null) {
                floats.put(position, (float) value);
            } else {
                doubles.put(position, value);
            }
        }

        /**
         * Writes the values of one of Spark's arrays (of doubles if {@code ofDoubles}, else of floats) from a
         * position, in one pass over them and one bulk copy into the array's memory, if the array is in Spark's own
         * layout and holds no null and no value that is not finite; else returns false, for the caller's value by
         * value reading to name the position at fault (nothing is written then). Value by value, Spark's checks and
         * the buffer's on every value cost as much as a small network's work for the row.
         */
        boolean putFinite(int position, ArrayData values, boolean ofDoubles) {
            if (!(values instanceof UnsafeArrayData unsafe)) {
                return false;
            }
            int n = unsafe.numElements();
            Object base = unsafe.getBaseObject();
            long at = unsafe.getBaseOffset();
            long data = at + UnsafeArrayData.calculateHeaderPortionInBytes(n);
            for (long word = at + 8; word < data; word += 8) {
                if (Platform.getLong(base, word) != 0) {
                    return false;       // a null
                }
            }
            if (rowDoubles.length < n) {
                rowDoubles = new double[n];
                rowFloats = new float[n];
            }
            double[] d = rowDoubles;
            boolean finite = true;
            for (int k = 0; k < n; k++) {
                double v = ofDoubles ? Platform.getDouble(base, data + 8L * k) : Platform.getFloat(base, data + 4L * k);
                finite &= Math.abs(v) <= Double.MAX_VALUE;
                d[k] = v;
            }
            if (!finite) {
                return false;
            }
            if (floats != null) {
                float[] f = rowFloats;
                for (int k = 0; k < n; k++) {
                    f[k] = (float) d[k];
                }
                floats.put(position, f, 0, n);
            } else {
                doubles.put(position, d, 0, n);
            }
            return true;
        }

        /** The array written, of the type asked for. */
        INDArray array() {
            return array.dataType() == type ? array : array.castTo(type);
        }

        /** The first {@code n} examples written, of the type asked for: the array itself if it holds {@code n}. */
        INDArray firstRows(int n) {
            if (n == array.size(0)) {
                return array();
            }
            INDArrayIndex[] first = new INDArrayIndex[array.rank()];
            Arrays.fill(first, NDArrayIndex.all());
            first[0] = NDArrayIndex.interval(0, n);
            INDArray rows = array.get(first).dup('c');
            return rows.dataType() == type ? rows : rows.castTo(type);
        }
    }

    /** Reads one column of a row. Serializable: it travels to the executors with the tasks. */
    record Reader(String column, int index, Kind kind, DataType type, long width) implements Serializable {

        private static final long serialVersionUID = 1L;

        /** A reader of {@code column}, whose rows must have {@code width} values (-1: any, the same for all). */
        static Reader of(StructType schema, String column, String role, long width) {
            Kind kind = Columns.kind(schema, column, role);
            if (kind == Kind.NUMBER && width > 1) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "The %s column \"%s\" holds one number "
                        + "per row; %d values are expected.", role, column, width));
            }
            int index = schema.fieldIndex(column);
            return new Reader(column, index, kind, schema.fields()[index].dataType(), width);
        }

        /** The same reader, for rows of {@code w} values. */
        Reader withWidth(long w) {
            return new Reader(column, index, kind, type, w);
        }

        /**
         * The row's values, written into {@code out} at {@code offset}; refused if null, non-finite or of another
         * width.
         */
        void read(Row row, double[] out, int offset) {
            if (row.isNullAt(index)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a null.", column));
            }
            switch (kind) {
                case NUMBER -> out[offset] = finite(((Number) row.get(index)).doubleValue(), 0);
                case VECTOR -> {
                    Vector v = (Vector) row.get(index);
                    checkWidth(v.size());
                    for (int k = 0; k < v.size(); k++) {
                        out[offset + k] = finite(v.apply(k), k);
                    }
                }
                default -> {
                    List<Object> values = row.getList(index);
                    checkWidth(values.size());
                    for (int k = 0; k < values.size(); k++) {
                        Object value = values.get(k);
                        if (value == null) {
                            throw new IllegalArgumentException(String.format(Locale.ROOT,
                                    "Column \"%s\" holds a null at position %d of an array.", column, k));
                        }
                        out[offset + k] = finite(((Number) value).doubleValue(), k);
                    }
                }
            }
        }

        /**
         * The values of one of Spark's internal rows (as {@link #read(Row, double[], int)}), written into {@code out}
         * at {@code offset}: read where Spark keeps them, without building a {@code Row} of boxed values, which costs
         * more than scoring a small network.
         */
        void read(InternalRow row, ArrayWriter out, int offset) {
            if (row.isNullAt(index)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a null.", column));
            }
            switch (kind) {
                case NUMBER -> {
                    Object value = row.get(index, type);
                    out.put(offset, finite(value instanceof Decimal d ? d.toDouble() : ((Number) value).doubleValue(),
                            0));
                }
                case VECTOR -> {
                    // VectorUDT's layout: (type: 0 sparse / 1 dense, size, indices, values)
                    InternalRow v = row.getStruct(index, 4);
                    ArrayData values = v.getArray(3);
                    if (v.getByte(0) == 1) {
                        checkWidth(values.numElements());
                        if (out.putFinite(offset, values, true)) {
                            return;
                        }
                        for (int k = 0; k < values.numElements(); k++) {
                            out.put(offset + k, finite(values.getDouble(k), k));
                        }
                    } else {
                        int size = v.getInt(1);
                        checkWidth(size);
                        for (int k = 0; k < size; k++) {
                            out.put(offset + k, 0.0);
                        }
                        ArrayData indices = v.getArray(2);
                        for (int j = 0; j < values.numElements(); j++) {
                            int k = indices.getInt(j);
                            out.put(offset + k, finite(values.getDouble(j), k));
                        }
                    }
                }
                default -> {
                    ArrayData values = row.getArray(index);
                    int n = values.numElements();
                    checkWidth(n);
                    boolean doubles = kind == Kind.DOUBLES;
                    if (out.putFinite(offset, values, doubles)) {
                        return;
                    }
                    for (int k = 0; k < n; k++) {
                        if (values.isNullAt(k)) {
                            throw new IllegalArgumentException(String.format(Locale.ROOT,
                                    "Column \"%s\" holds a null at position %d of an array.", column, k));
                        }
                        out.put(offset + k, finite(doubles ? values.getDouble(k) : values.getFloat(k), k));
                    }
                }
            }
        }

        /** The number of values of an internal row (1 for a number). */
        int widthOf(InternalRow row) {
            if (row.isNullAt(index)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a null.", column));
            }
            return switch (kind) {
                case NUMBER -> 1;
                case VECTOR -> {
                    InternalRow v = row.getStruct(index, 4);
                    yield v.getByte(0) == 1 ? v.getArray(3).numElements() : v.getInt(1);
                }
                default -> row.getArray(index).numElements();
            };
        }

        /** The number of values of the row (1 for a number). */
        int widthOf(Row row) {
            if (row.isNullAt(index)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a null.", column));
            }
            return switch (kind) {
                case NUMBER -> 1;
                case VECTOR -> ((Vector) row.get(index)).size();
                default -> row.getList(index).size();
            };
        }

        private void checkWidth(int actual) {
            if (width >= 0 && actual != width) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a row of %d "
                        + "values; %d are expected.", column, actual, width));
            }
        }

        private double finite(double value, int position) {
            if (!Double.isFinite(value)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds %s at position "
                        + "%d.", column, value, position));
            }
            return value;
        }
    }
}
