package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** {@link Columns}' bridges between Spark's values and ND4J's memory, in every floating type. */
class ColumnsTest {

    /** {@code n} DOUBLE values from {@code start} by {@code step}. */
    private static INDArray sequence(double start, double step, int n) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = start + i * step;
        }
        return Nd4j.createFromArray(values);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DataType.class, names = {"DOUBLE", "FLOAT", "HALF"})
    void anArrayWriterWritesEachValueAtItsPositionInCOrder(DataType type) {
        long[] shape = {2, 3, 2};
        Columns.ArrayWriter writer = new Columns.ArrayWriter(shape, type);
        for (int i = 0; i < 12; i++) {
            writer.put(i, i - 5.5);
        }
        INDArray written = writer.array();
        assertEquals(type, written.dataType());
        assertArrayEquals(shape, written.shape());
        INDArray expected = sequence(-5.5, 1, 12).reshape('c', shape);
        assertEquals(expected, written.castTo(DataType.DOUBLE));
        assertTrue(writer.holds(shape, type));
        assertFalse(writer.holds(new long[] {1, 3, 2}, type), "another shape");
        assertFalse(writer.holds(shape, type == DataType.DOUBLE ? DataType.FLOAT : DataType.DOUBLE), "another type");
        // written again (the next batch): the new values, none of the old
        for (int i = 0; i < 12; i++) {
            writer.put(i, 2 * i);
        }
        assertEquals(sequence(0, 2, 12).reshape('c', shape),
                writer.array().castTo(DataType.DOUBLE));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DataType.class, names = {"DOUBLE", "FLOAT", "HALF"})
    void valuesComeInCOrderFromViewsAndFOrderArraysToo(DataType type) {
        INDArray c = sequence(1, 1, 24).reshape('c', 4, 6).castTo(type);
        double[] expected = sequence(1, 1, 24).data().asDouble();
        assertArrayEquals(expected, Columns.values(c, new double[0]), 0.0);
        assertArrayEquals(expected, Columns.values(c.dup('f'), new double[0]), 0.0);
        // a view: columns 1..2 of each row
        INDArray view = c.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 3));
        double[] fromView = Columns.values(view, new double[0]);
        assertEquals(8, fromView.length);
        for (int row = 0; row < 4; row++) {
            assertEquals(expected[row * 6 + 1], fromView[2 * row], 0.0);
            assertEquals(expected[row * 6 + 2], fromView[2 * row + 1], 0.0);
        }
        // a long enough array is reused, its values past the array's length untouched
        double[] reuse = new double[30];
        reuse[29] = -1;
        assertSame(reuse, Columns.values(c, reuse));
        assertEquals(24.0, reuse[23], 0.0);
        assertEquals(-1.0, reuse[29], 0.0);
        assertNotSame(reuse, Columns.values(Nd4j.zeros(type, 40), reuse), "too short: a new array");
    }

    /**
     * Spark's arrays of doubles or floats go into a writer of either type in one copy, at the position given;
     * arrays holding a null or a value that is not finite, and arrays not in Spark's own layout, are left to the value
     * by value reading (which names the position at fault), with nothing written.
     */
    @ParameterizedTest(name = "{0} writer, array of {1}")
    @CsvSource({"DOUBLE, doubles", "DOUBLE, floats", "FLOAT, doubles", "FLOAT, floats"})
    void sparksArraysGoInInOneCopyAndBadOnesAreLeftToTheReader(DataType type, String elements) {
        boolean doubles = elements.equals("doubles");
        Columns.ArrayWriter writer = new Columns.ArrayWriter(new long[] {3, 4}, type);
        for (int i = 0; i < 12; i++) {
            writer.put(i, -1);
        }
        double[] values = {0.5, -1.25, 0x1p34, 7};     // exact in both types
        UnsafeArrayData array = doubles ? UnsafeArrayData.fromPrimitiveArray(values)
                : UnsafeArrayData.fromPrimitiveArray(new float[] {0.5f, -1.25f, 0x1p34f, 7f});
        assertTrue(writer.putFinite(4, array, doubles));
        double[] expected = {-1, -1, -1, -1, 0.5, -1.25, 0x1p34, 7, -1, -1, -1, -1};
        assertArrayEquals(expected, writer.array().castTo(DataType.DOUBLE).data().asDouble(), 0.0);

        UnsafeArrayData withNull = array.copy();
        withNull.setNullAt(2);
        assertFalse(writer.putFinite(8, withNull, doubles), "a null");
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            UnsafeArrayData nonFinite = array.copy();
            if (doubles) {
                nonFinite.setDouble(3, bad);
            } else {
                nonFinite.setFloat(3, (float) bad);
            }
            assertFalse(writer.putFinite(8, nonFinite, doubles), "holding " + bad);
        }
        assertFalse(writer.putFinite(8, new GenericArrayData(new Object[] {1.0, 2.0, 3.0, 4.0}), true),
                "not Spark's own layout");
        assertArrayEquals(expected, writer.array().castTo(DataType.DOUBLE).data().asDouble(), 0.0,
                "nothing written by the refused arrays");
    }

    @Test
    void theFirstRowsAreTheWholeArrayOrACopyOfItsFirstExamples() {
        Columns.ArrayWriter writer = new Columns.ArrayWriter(new long[] {4, 2, 3}, DataType.FLOAT);
        for (int i = 0; i < 24; i++) {
            writer.put(i, i);
        }
        assertSame(writer.array(), writer.firstRows(4));
        INDArray two = writer.firstRows(2);
        assertArrayEquals(new long[] {2, 2, 3}, two.shape());
        assertEquals(sequence(0, 1, 12).reshape('c', 2, 2, 3).castTo(DataType.FLOAT), two);
        // a copy: the next batch's values do not reach it
        writer.put(0, 100);
        assertEquals(0.0, two.getDouble(0, 0, 0), 0.0);
        Columns.ArrayWriter half = new Columns.ArrayWriter(new long[] {3, 2}, DataType.HALF);
        for (int i = 0; i < 6; i++) {
            half.put(i, i);
        }
        INDArray one = half.firstRows(1);
        assertEquals(DataType.HALF, one.dataType());
        assertArrayEquals(new double[] {0, 1}, one.castTo(DataType.DOUBLE).data().asDouble(), 0.0);
    }
}
