package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/** {@link JvmAdamState} against ND4J's own Adam updater: the same parameters and moments, step after step. */
class JvmAdamStateTest {

    @ParameterizedTest(name = "{0}, schedule {1}, {2} columns")
    @CsvSource({"FLOAT, false, 7", "FLOAT, true, 7", "DOUBLE, false, 7", "DOUBLE, true, 7",
            "FLOAT, false, 2001", "DOUBLE, true, 2001"})     // 10,005 elements: two full chunks and a partial one
    void stepsEqualNd4jsAdam(DataType type, boolean schedule, int columns) {
        Adam config = schedule
                ? Adam.builder().learningRateSchedule(new ExponentialSchedule(ScheduleType.ITERATION, 0.05, 0.9))
                        .build()
                : new Adam(0.01, 0.8, 0.95, 1e-6);
        Nd4j.getRandom().setSeed(7);
        long[] shape = {5, columns};
        INDArray viaNd4j = Nd4j.randn(type, shape);
        INDArray viaHeap = viaNd4j.dup();
        INDArray view = Nd4j.zeros(type, 1, config.stateSize(viaNd4j.length()));
        GradientUpdater<?> nd4j = config.instantiate(view, true);
        nd4j.setStateViewArray(view, shape, 'c', true);
        JvmAdamState heap = JvmAdamState.forParameter(config, viaHeap);
        double tolerance = type == DataType.FLOAT ? 1e-6 : 1e-14;
        for (int t = 0; t < 25; t++) {
            INDArray gradient = Nd4j.randn(type, shape).muli(t % 3 == 0 ? 10 : 0.1);
            INDArray update = gradient.dup();
            nd4j.applyUpdater(update, t, 0);
            viaNd4j.subi(update);
            heap.apply(viaHeap, gradient, t, 0);
            assertClose(viaNd4j, viaHeap, tolerance, "parameter after step " + t);
        }
        Map<String, INDArray> state = heap.arrays();
        assertClose(nd4j.getState().get(AdamUpdater.M_STATE), state.get(AdamUpdater.M_STATE), tolerance, "M");
        assertClose(nd4j.getState().get(AdamUpdater.V_STATE), state.get(AdamUpdater.V_STATE), tolerance, "V");

        // a state taken over continues as the original does
        JvmAdamState resumed = JvmAdamState.fromState(config, state);
        INDArray a = viaHeap.dup();
        INDArray b = viaHeap.dup();
        INDArray gradient = Nd4j.randn(type, shape);
        heap.apply(a, gradient, 25, 0);
        resumed.apply(b, gradient, 25, 0);
        assertEquals(a, b, "resumed from its state");
        assertTrue(viaHeap.length() <= JvmAdamState.CHUNK || viaHeap.length() > 2 * JvmAdamState.CHUNK,
                "chunk sizes tested");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FLOAT", "DOUBLE"})
    void viewsAndFOrderParametersAreUpdatedInPlace(DataType type) {
        Adam config = new Adam(0.1);
        INDArray whole = Nd4j.linspace(type, 1, 24, 1).reshape(4, 6);
        INDArray column = whole.getColumn(2, true);             // a view
        INDArray fOrder = Nd4j.linspace(type, 1, 6, 1).reshape('f', 2, 3);
        INDArray columnBefore = column.dup();
        INDArray fBefore = fOrder.dup();
        JvmAdamState.forParameter(config, column).apply(column, Nd4j.ones(type, 4, 1), 0, 0);
        JvmAdamState.forParameter(config, fOrder).apply(fOrder, Nd4j.ones(type, 2, 3), 0, 0);
        // a first Adam step moves every weight by lr against the gradient's sign (m / sqrt(v) = 1)
        assertClose(columnBefore.sub(0.1), whole.getColumn(2, true), 1e-5, "view");
        assertClose(fBefore.sub(0.1), fOrder, 1e-5, "f-order");
        assertEquals(Nd4j.linspace(type, 1, 24, 1).reshape(4, 6).getColumn(0), whole.getColumn(0), "other columns");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FLOAT", "DOUBLE"})
    void anEpochScheduleReadsTheEpochAsNd4jsAdamDoes(DataType type) {
        Adam config = Adam.builder().learningRateSchedule(new ExponentialSchedule(ScheduleType.EPOCH, 0.05, 0.5))
                .build();
        Nd4j.getRandom().setSeed(11);
        INDArray viaNd4j = Nd4j.randn(type, 3, 4);
        INDArray viaJvm = viaNd4j.dup();
        INDArray firstEpochOnly = viaNd4j.dup();
        INDArray view = Nd4j.zeros(type, 1, config.stateSize(viaNd4j.length()));
        GradientUpdater<?> nd4j = config.instantiate(view, true);
        nd4j.setStateViewArray(view, new long[] {3, 4}, 'c', true);
        UpdaterState jvm = UpdaterState.create(config, viaJvm);
        UpdaterState epochZero = UpdaterState.create(config, firstEpochOnly);
        assertTrue(jvm instanceof JvmAdamState, "Adam on " + type + " is computed by the JVM");
        for (int t = 0; t < 6; t++) {
            INDArray gradient = Nd4j.randn(type, 3, 4);
            INDArray update = gradient.dup();
            nd4j.applyUpdater(update, t, t / 2);
            viaNd4j.subi(update);
            jvm.apply(viaJvm, gradient, t, t / 2);
            epochZero.apply(firstEpochOnly, gradient, t, 0);
        }
        assertClose(viaNd4j, viaJvm, type == DataType.FLOAT ? 1e-6 : 1e-14, "parameter after epochs 0-2");
        assertTrue(viaJvm.sub(firstEpochOnly).amaxNumber().doubleValue() > 1e-4, "the epoch changes the rate");
    }

    private static void assertClose(INDArray expected, INDArray actual, double relative, String what) {
        double scale = Math.max(1e-30, expected.amaxNumber().doubleValue());
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(expected.shape());
        double difference = expected.castTo(DataType.DOUBLE).sub(a).amaxNumber().doubleValue();
        assertTrue(difference <= relative * scale, what + ": differs by " + difference + " (largest " + scale + ")");
    }
}
