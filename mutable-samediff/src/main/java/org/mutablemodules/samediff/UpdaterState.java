package org.mutablemodules.samediff;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * One trained parameter's updater state (Adam's moments, say) and the step that applies a gradient with it. The
 * trainer holds one per parameter and does not care which implementation computes the step: ND4J's own
 * {@link GradientUpdater}, or the JVM's loop for Adam ({@link JvmAdamState}), chosen by {@link #create}. Both save
 * their arrays under ND4J's names, so a saved state resumes with either.
 */
interface UpdaterState {

    /**
     * Updates {@code param} in place by one step of {@code gradient}.
     *
     * @param param     the parameter's array (of the shape this state was made for)
     * @param gradient  its gradient, of the same length; not changed
     * @param iteration the trainer's iteration count before this step (schedules and Adam's bias correction)
     * @param epoch     the trainer's epoch count (schedules of type EPOCH)
     */
    void apply(INDArray param, INDArray gradient, long iteration, long epoch);

    /**
     * The state's arrays under ND4J's names ({@code M}, {@code V} for Adam), as live arrays; empty for a stateless
     * updater such as SGD.
     */
    Map<String, INDArray> arrays();

    /** A fresh state for {@code param}: the JVM's Adam where it applies (see {@link JvmAdamState}), else ND4J's. */
    static UpdaterState create(IUpdater config, INDArray param) {
        if (config.getClass() == Adam.class && JvmAdamState.supports(param)) {
            return JvmAdamState.forParameter((Adam) config, param);
        }
        return Nd4jUpdaterState.create(config, param);
    }

    /** A state taken over from saved arrays (those of {@link #arrays()}). */
    static UpdaterState restore(IUpdater config, Map<String, INDArray> arrays) {
        if (config.getClass() == Adam.class && JvmAdamState.supports(arrays.get(AdamUpdater.M_STATE))) {
            return JvmAdamState.fromState((Adam) config, arrays);
        }
        return new Nd4jUpdaterState(config.instantiate(arrays, false));
    }

    /** ND4J's own updater: its state lives in one flat view array, as {@code SameDiff.fit} keeps it. */
    final class Nd4jUpdaterState implements UpdaterState {
        private final GradientUpdater<?> updater;

        private Nd4jUpdaterState(GradientUpdater<?> updater) {
            this.updater = updater;
        }

        static Nd4jUpdaterState create(IUpdater config, INDArray param) {
            long stateSize = config.stateSize(param.length());
            INDArray view = stateSize == 0 ? null : Nd4j.zeros(param.dataType(), 1, stateSize);
            GradientUpdater<?> u = config.instantiate(view, true);
            if (view != null) {
                u.setStateViewArray(view, param.shape(), param.ordering(), true);
            }
            return new Nd4jUpdaterState(u);
        }

        @Override
        public void apply(INDArray param, INDArray gradient, long iteration, long epoch) {
            // a copy: the updater works in place, and the session may hand out arrays it reuses
            INDArray update = gradient.dup();
            if (!Arrays.equals(update.shape(), param.shape())) {
                update = update.reshape(param.shape());
            }
            updater.applyUpdater(update, (int) iteration, (int) epoch);
            param.subi(update);
        }

        @Override
        public Map<String, INDArray> arrays() {
            Map<String, INDArray> state = updater.getState();
            return state == null ? Map.of() : new LinkedHashMap<>(state);
        }
    }
}
