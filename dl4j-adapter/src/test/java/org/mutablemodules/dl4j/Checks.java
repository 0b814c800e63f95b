package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Map;
import java.util.function.Supplier;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Numerical assertions shared by the adapter's tests. */
final class Checks {

    private Checks() {
    }

    /** Every element within {@code relative} of the expected one, relative to the larger magnitude. */
    static void assertRelativelyClose(INDArray expected, INDArray actual, double relative, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] a = actual.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        for (int i = 0; i < e.length; i++) {
            double scale = Math.max(Math.abs(e[i]), Math.abs(a[i]));
            assertTrue(Math.abs(e[i] - a[i]) <= relative * scale + 1e-12,
                    what + ": element " + i + " expected " + e[i] + " but was " + a[i]);
        }
    }

    /** The largest element-wise difference relative to the larger magnitude (0 where both are 0). */
    static double maxRelativeDifference(INDArray a, INDArray b) {
        double[] x = a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] y = b.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            double scale = Math.max(Math.abs(x[i]), Math.abs(y[i]));
            if (scale > 0) {
                max = Math.max(max, Math.abs(x[i] - y[i]) / scale);
            }
        }
        return max;
    }

    /** Every element within {@code absolute} of the expected one. */
    static void assertClose(INDArray expected, INDArray actual, double absolute, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= absolute, what + ": max difference " + diff + " > " + absolute);
    }

    /** ND4J's finite-difference check of every VARIABLE and placeholder gradient (global types set to DOUBLE). */
    static void assertGradientsMatchFiniteDifferences(SameDiff sd, Map<String, INDArray> placeholders) {
        assertGradientsMatchFiniteDifferences(sd, placeholders, null);
    }

    /** The same, not checking the variables in {@code skip} (whose gradient is stopped on purpose). */
    static void assertGradientsMatchFiniteDifferences(SameDiff sd, Map<String, INDArray> placeholders,
                                                      java.util.Set<String> skip) {
        placeholders.forEach((name, value) -> sd.getVariable(name).setArray(value));
        DataType before = Nd4j.dataType();
        DataType beforeFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            boolean ok = quietly(() -> GradCheckUtil.checkGradients(sd, placeholders, 1e-6, 1e-5, 1e-8, false, false,
                    false, false, skip, null));
            assertTrue(ok, "finite-difference gradient check failed");
        } finally {
            Nd4j.setDefaultDataTypes(before, beforeFloat);
        }
    }

    /** Runs {@code body} with standard output discarded (ND4J prints a line per differentiated op). */
    static <T> T quietly(Supplier<T> body) {
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            return body.get();
        } finally {
            System.setOut(out);
        }
    }
}
