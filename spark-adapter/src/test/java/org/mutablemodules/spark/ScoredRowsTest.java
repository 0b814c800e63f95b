package org.mutablemodules.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link ScoredRows} without a Spark job: rows as Spark's iterators hand them over (one row object reused for every
 * row), every row's output equal to the network's, its own columns passed through, across full and partial batches.
 */
class ScoredRowsTest {

    private static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType, false)
            .add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("tag", DataTypes.StringType, true);

    /**
     * Rows as generic rows of their own, or as Spark's generated iterators hand them over: one unsafe row object for
     * all, which {@code hasNext()} already overwrites with the next row (as Spark's whole-stage code does), so a row is
     * only valid until the iterator is asked anything more.
     */
    private static Iterator<InternalRow> rows(double[][] x, boolean unsafe) {
        UnsafeProjection projection = UnsafeProjection.create(SCHEMA);
        List<InternalRow> generic = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            generic.add(new GenericInternalRow(new Object[] {i, UnsafeArrayData.fromPrimitiveArray(x[i]),
                    i % 3 == 0 ? null : org.apache.spark.unsafe.types.UTF8String.fromString("row " + i)}));
        }
        Iterator<InternalRow> each = generic.iterator();
        return !unsafe ? each : new Iterator<>() {
            private InternalRow ahead;

            @Override
            public boolean hasNext() {
                if (ahead == null && each.hasNext()) {
                    ahead = projection.apply(each.next());
                }
                return ahead != null;
            }

            @Override
            public InternalRow next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                InternalRow row = ahead;
                ahead = null;
                return row;
            }
        };
    }

    /** 9,000 rows: two full batches of {@value SparkScoring#MAX_BATCH_ROWS} and a partial one. */
    @ParameterizedTest(name = "unsafe rows: {0}")
    @ValueSource(booleans = {true, false})
    void everyRowComesBackWithItsOwnColumnsAndTheNetworksOutput(boolean unsafe) {
        MultiLayerNetwork net = SparkScoringTest.network(5, 3);
        MutableNetwork m = MutableNetwork.of(net);
        Random random = new Random(21);
        double[][] x = new double[9000][5];
        for (double[] row : x) {
            for (int k = 0; k < 5; k++) {
                row[k] = random.nextGaussian();
            }
        }
        Columns.Reader reader = Columns.Reader.of(SCHEMA, "x", "features", 5);
        ScoredRows scored = new ScoredRows(rows(x, unsafe), () -> m, reader,
                ExampleShape.of(new long[] {-1, 5}, null, "x"), DataType.DOUBLE, "x");
        INDArray expected = net.output(Nd4j.createFromArray(x));
        int n = 0;
        while (scored.hasNext()) {
            // a row is valid until the next is asked for: read it now, as Spark's scan does
            InternalRow row = scored.next();
            assertEquals(4, row.numFields());
            assertEquals(n, row.getInt(0));
            assertArrayEquals(x[n], row.getArray(1).toDoubleArray(), 0.0, "row " + n + "'s features");
            assertEquals(n % 3 == 0 ? null : "row " + n, row.isNullAt(2) ? null : row.getUTF8String(2).toString());
            double[] y = row.getArray(3).toDoubleArray();
            assertEquals(3, y.length);
            for (int k = 0; k < 3; k++) {
                assertEquals(expected.getDouble(n, k), y[k], 1e-12, "row " + n + " output " + k);
            }
            n++;
        }
        assertEquals(9000, n);
        assertFalse(scored.hasNext());
        assertThrows(NoSuchElementException.class, scored::next);
    }

    /**
     * Series of lengths that change from row to row (an open input dimension): each run of one length scored in a call
     * of its own, the row that ends a run starting the next, each row's output the network's for it alone.
     */
    @ParameterizedTest(name = "unsafe rows: {0}")
    @ValueSource(booleans = {true, false})
    void seriesOfChangingLengthsAreScoredRunByRun(boolean unsafe) {
        MultiLayerNetwork net = SparkScoringTest.recurrent(RNNFormat.NCW);
        MutableNetwork m = MutableNetwork.of(net);
        Random random = new Random(22);
        double[][] x = new double[60][];
        for (int i = 0; i < x.length; i++) {
            // runs of one to three rows of a length, then another length
            int length = 2 + (i / (1 + i % 3)) % 4;
            x[i] = new double[3 * length];
            for (int k = 0; k < x[i].length; k++) {
                x[i][k] = random.nextGaussian();
            }
        }
        Columns.Reader reader = Columns.Reader.of(SCHEMA, "x", "features", -1);
        ScoredRows scored = new ScoredRows(rows(x, unsafe), () -> m, reader,
                ExampleShape.of(new long[] {-1, 3, -1}, null, "x"), DataType.DOUBLE, "x");
        int n = 0;
        while (scored.hasNext()) {
            InternalRow row = scored.next();
            assertEquals(n, row.getInt(0));
            assertArrayEquals(x[n], row.getArray(1).toDoubleArray(), 0.0, "row " + n + "'s features");
            double[] expected = net.output(Nd4j.create(x[n], new long[] {1, 3, x[n].length / 3}, 'c')).dup('c')
                    .data().asDouble();
            assertArrayEquals(expected, row.getArray(3).toDoubleArray(), 1e-12, "row " + n + "'s output");
            n++;
        }
        assertEquals(x.length, n);
    }
}
