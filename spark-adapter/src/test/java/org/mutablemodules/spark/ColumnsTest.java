package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
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
}
