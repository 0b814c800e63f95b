package org.mutablemodules.samediff;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;

/**
 * ND4J's Adam step for one FLOAT or DOUBLE parameter, computed on the JVM heap. libnd4j's {@code adam_updater} takes
 * the square root element by element without vectorising: 650 µs for the 112,704 weights of the main job's
 * hypernetwork layer, where this loop (with the copies in and out) takes about 60 µs, and the step then needs no
 * copy of the gradient and no subtraction op. The arithmetic is libnd4j's, in the parameter's precision:
 *
 * <pre>
 * m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 * param -= lr_t m / (sqrt(v) + eps),   lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),   t = iteration + 1
 * </pre>
 *
 * The moments live on the heap; {@link #state()} gives them as ND4J's updater names them ({@code M}, {@code V}), so
 * a saved trainer resumes with either implementation.
 */
final class HeapAdam {

    private final Adam config;
    private final boolean single;
    private final float[] mf;
    private final float[] vf;
    private final float[] gf;
    private final float[] pf;
    private final double[] md;
    private final double[] vd;
    private final double[] gd;
    private final double[] pd;
    private final long[] shape;

    private HeapAdam(Adam config, DataType type, long[] shape) {
        this.config = config;
        this.single = type == DataType.FLOAT;
        this.shape = shape.clone();
        int n = Math.toIntExact(java.util.Arrays.stream(shape).reduce(1L, Math::multiplyExact));
        mf = single ? new float[n] : null;
        vf = single ? new float[n] : null;
        gf = single ? new float[n] : null;
        pf = single ? new float[n] : null;
        md = single ? null : new double[n];
        vd = single ? null : new double[n];
        gd = single ? null : new double[n];
        pd = single ? null : new double[n];
    }

    /** Whether a parameter can be updated here: FLOAT or DOUBLE, at most 2^31 - 1 elements. */
    static boolean supports(INDArray param) {
        return (param.dataType() == DataType.FLOAT || param.dataType() == DataType.DOUBLE)
                && param.length() < Integer.MAX_VALUE;
    }

    /** A fresh state (zero moments) for {@code param}. */
    static HeapAdam forParameter(Adam config, INDArray param) {
        return new HeapAdam(config, param.dataType(), param.shape());
    }

    /** A state taken over from saved moments ({@link AdamUpdater#M_STATE}, {@link AdamUpdater#V_STATE}). */
    static HeapAdam fromState(Adam config, Map<String, INDArray> state) {
        INDArray m = state.get(AdamUpdater.M_STATE);
        INDArray v = state.get(AdamUpdater.V_STATE);
        HeapAdam a = new HeapAdam(config, m.dataType(), m.shape());
        a.read(m, a.mf, a.md);
        a.read(v, a.vf, a.vd);
        return a;
    }

    /** Updates {@code param} (FLOAT or DOUBLE, as this state) in place by one step of gradient {@code gradient}. */
    void step(INDArray param, INDArray gradient, long iteration) {
        double lr = config.getLearningRate((int) iteration, 0);
        double beta1 = config.getBeta1();
        double beta2 = config.getBeta2();
        double eps = config.getEpsilon();
        // The parameter is written back whole: a view (or an f-order array) is updated through a c-order copy.
        INDArray target = param.isView() || param.ordering() != 'c' ? param.dup('c') : param;
        read(gradient, gf, gd);
        read(target, pf, pd);
        if (single) {
            float b1 = (float) beta1;
            float b2 = (float) beta2;
            float e = (float) eps;
            float b1t = (float) Math.pow(b1, iteration + 1);
            float b2t = (float) Math.pow(b2, iteration + 1);
            float lrT = (float) lr * (float) Math.sqrt(1f - b2t) / (1f - b1t);
            if (Float.isNaN(lrT) || Float.isInfinite(lrT) || lrT == 0) {
                lrT = e;    // as libnd4j
            }
            float c1 = 1f - b1;
            float c2 = 1f - b2;
            for (int i = 0; i < gf.length; i++) {
                float g = gf[i];
                float m = b1 * mf[i] + g * c1;
                float v = b2 * vf[i] + g * g * c2;
                mf[i] = m;
                vf[i] = v;
                pf[i] -= m * lrT / ((float) Math.sqrt(v) + e);
            }
        } else {
            double b1t = Math.pow(beta1, iteration + 1);
            double b2t = Math.pow(beta2, iteration + 1);
            double lrT = lr * Math.sqrt(1 - b2t) / (1 - b1t);
            if (Double.isNaN(lrT) || Double.isInfinite(lrT) || lrT == 0) {
                lrT = eps;
            }
            double c1 = 1 - beta1;
            double c2 = 1 - beta2;
            for (int i = 0; i < gd.length; i++) {
                double g = gd[i];
                double m = beta1 * md[i] + g * c1;
                double v = beta2 * vd[i] + g * g * c2;
                md[i] = m;
                vd[i] = v;
                pd[i] -= m * lrT / (Math.sqrt(v) + eps);
            }
        }
        write(target);
        if (target != param) {
            param.assign(target);
        }
    }

    /** The moments as new arrays of the parameter's shape, keyed as ND4J's {@link AdamUpdater} keys them. */
    Map<String, INDArray> state() {
        Map<String, INDArray> state = new LinkedHashMap<>();
        state.put(AdamUpdater.M_STATE, single ? Nd4j.create(mf, shape, 'c') : Nd4j.create(md, shape, 'c'));
        state.put(AdamUpdater.V_STATE, single ? Nd4j.create(vf, shape, 'c') : Nd4j.create(vd, shape, 'c'));
        return state;
    }

    private void read(INDArray array, float[] f, double[] d) {
        INDArray c = array.isView() || array.ordering() != 'c' ? array.dup('c') : array;
        if (f != null) {
            FloatBuffer b = c.castTo(DataType.FLOAT).data().asNioFloat();
            b.get(0, f);
        } else {
            DoubleBuffer b = c.castTo(DataType.DOUBLE).data().asNioDouble();
            b.get(0, d);
        }
    }

    private void write(INDArray target) {
        if (single) {
            target.data().asNioFloat().put(0, pf);
        } else {
            target.data().asNioDouble().put(0, pd);
        }
    }
}
