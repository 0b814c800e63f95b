package org.mutablemodules.spark;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

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

    /** Reads one column of a row. Serializable: it travels to the executors with the tasks. */
    record Reader(String column, int index, Kind kind, long width) implements Serializable {

        private static final long serialVersionUID = 1L;

        /** A reader of {@code column}, whose rows must have {@code width} values (-1: any, the same for all). */
        static Reader of(StructType schema, String column, String role, long width) {
            Kind kind = Columns.kind(schema, column, role);
            if (kind == Kind.NUMBER && width > 1) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "The %s column \"%s\" holds one number "
                        + "per row; %d values are expected.", role, column, width));
            }
            return new Reader(column, schema.fieldIndex(column), kind, width);
        }

        /** The row's values, written into {@code out} at {@code offset}; refused if null, non-finite or of another width. */
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
