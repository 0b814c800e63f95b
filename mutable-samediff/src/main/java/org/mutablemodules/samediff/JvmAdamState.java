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
 * ND4J's Adam step for one FLOAT or DOUBLE parameter, computed by the JVM. libnd4j's {@code adam_updater} takes the
 * square root element by element without vectorising: 650 µs for the 112,704 weights of the main job's
 * hypernetwork layer, where this loop takes about 60 µs, and the step then needs no copy of the gradient and no
 * subtraction op. The arithmetic is libnd4j's, in the parameter's precision:
 *
 * <pre>
 * m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 * param -= lr_t m / (sqrt(v) + eps),   lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),   t = iteration + 1
 * </pre>
 *
 * The moments stay in native arrays, as ND4J's updater keeps them ({@link #arrays()} gives them under its names,
 * {@code M} and {@code V}, so a saved trainer resumes with either implementation); the loop streams the parameter,
 * the gradient and the moments through small heap buffers, so a large network costs no heap.
 */
final class JvmAdamState implements UpdaterState {

    /** Elements per pass through the heap buffers. */
    static final int CHUNK = 4096;

    private final Adam config;
    private final boolean single;
    private final INDArray m;
    private final INDArray v;
    private final float[][] f;
    private final double[][] d;

    private JvmAdamState(Adam config, INDArray m, INDArray v) {
        this.config = config;
        this.single = m.dataType() == DataType.FLOAT;
        this.m = m;
        this.v = v;
        f = single ? new float[4][CHUNK] : null;
        d = single ? null : new double[4][CHUNK];
    }

    /** Whether a parameter can be updated here: FLOAT or DOUBLE, fewer than 2^31 - 1 elements (NIO's limit). */
    static boolean supports(INDArray param) {
        return (param.dataType() == DataType.FLOAT || param.dataType() == DataType.DOUBLE)
                && param.length() < Integer.MAX_VALUE;
    }

    /** A fresh state (zero moments) for {@code param}. */
    static JvmAdamState forParameter(Adam config, INDArray param) {
        return new JvmAdamState(config, Nd4j.zeros(param.dataType(), param.shape()),
                Nd4j.zeros(param.dataType(), param.shape()));
    }

    /** A state taken over from saved moments ({@link AdamUpdater#M_STATE}, {@link AdamUpdater#V_STATE}). */
    static JvmAdamState fromState(Adam config, Map<String, INDArray> state) {
        return new JvmAdamState(config, state.get(AdamUpdater.M_STATE).dup('c'),
                state.get(AdamUpdater.V_STATE).dup('c'));
    }

    /** Updates {@code param} (FLOAT or DOUBLE, as this state) in place by one step of gradient {@code gradient}. */
    @Override
    public void apply(INDArray param, INDArray gradient, long iteration, long epoch) {
        double lr = config.getLearningRate((int) iteration, (int) epoch);
        // Streamed as flat c-order buffers: a view (or an f-order array) goes through a c-order copy.
        INDArray target = contiguous(param);
        INDArray g = contiguous(gradient);
        if (single) {
            stepFloat(target, g, lr, iteration);
        } else {
            stepDouble(target, g, lr, iteration);
        }
        if (target != param) {
            param.assign(target.reshape(param.shape()));
        }
    }

    private void stepFloat(INDArray param, INDArray gradient, double lr, long iteration) {
        float b1 = (float) config.getBeta1();
        float b2 = (float) config.getBeta2();
        float e = (float) config.getEpsilon();
        float b1t = (float) Math.pow(b1, iteration + 1);
        float b2t = (float) Math.pow(b2, iteration + 1);
        float lrT = (float) lr * (float) Math.sqrt(1f - b2t) / (1f - b1t);
        if (Float.isNaN(lrT) || Float.isInfinite(lrT) || lrT == 0) {
            lrT = e;    // as libnd4j
        }
        float c1 = 1f - b1;
        float c2 = 1f - b2;
        FloatBuffer pb = param.data().asNioFloat();
        FloatBuffer gb = gradient.castTo(DataType.FLOAT).data().asNioFloat();
        FloatBuffer mb = m.data().asNioFloat();
        FloatBuffer vb = v.data().asNioFloat();
        float[] p = f[0];
        float[] gr = f[1];
        float[] mm = f[2];
        float[] vv = f[3];
        long n = m.length();
        for (int start = 0; start < n; start += CHUNK) {
            int len = (int) Math.min(CHUNK, n - start);
            pb.get(start, p, 0, len);
            gb.get(start, gr, 0, len);
            mb.get(start, mm, 0, len);
            vb.get(start, vv, 0, len);
            for (int i = 0; i < len; i++) {
                float grad = gr[i];
                float mi = b1 * mm[i] + grad * c1;
                float vi = b2 * vv[i] + grad * grad * c2;
                mm[i] = mi;
                vv[i] = vi;
                p[i] -= mi * lrT / ((float) Math.sqrt(vi) + e);
            }
            pb.put(start, p, 0, len);
            mb.put(start, mm, 0, len);
            vb.put(start, vv, 0, len);
        }
    }

    private void stepDouble(INDArray param, INDArray gradient, double lr, long iteration) {
        double b1 = config.getBeta1();
        double b2 = config.getBeta2();
        double e = config.getEpsilon();
        double lrT = lr * Math.sqrt(1 - Math.pow(b2, iteration + 1)) / (1 - Math.pow(b1, iteration + 1));
        if (Double.isNaN(lrT) || Double.isInfinite(lrT) || lrT == 0) {
            lrT = e;
        }
        double c1 = 1 - b1;
        double c2 = 1 - b2;
        DoubleBuffer pb = param.data().asNioDouble();
        DoubleBuffer gb = gradient.castTo(DataType.DOUBLE).data().asNioDouble();
        DoubleBuffer mb = m.data().asNioDouble();
        DoubleBuffer vb = v.data().asNioDouble();
        double[] p = d[0];
        double[] gr = d[1];
        double[] mm = d[2];
        double[] vv = d[3];
        long n = m.length();
        for (int start = 0; start < n; start += CHUNK) {
            int len = (int) Math.min(CHUNK, n - start);
            pb.get(start, p, 0, len);
            gb.get(start, gr, 0, len);
            mb.get(start, mm, 0, len);
            vb.get(start, vv, 0, len);
            for (int i = 0; i < len; i++) {
                double grad = gr[i];
                double mi = b1 * mm[i] + grad * c1;
                double vi = b2 * vv[i] + grad * grad * c2;
                mm[i] = mi;
                vv[i] = vi;
                p[i] -= mi * lrT / (Math.sqrt(vi) + e);
            }
            pb.put(start, p, 0, len);
            mb.put(start, mm, 0, len);
            vb.put(start, vv, 0, len);
        }
    }

    /** The moments, of the parameter's shape, keyed as ND4J's {@link AdamUpdater} keys them (the live arrays). */
    @Override
    public Map<String, INDArray> arrays() {
        Map<String, INDArray> state = new LinkedHashMap<>();
        state.put(AdamUpdater.M_STATE, m);
        state.put(AdamUpdater.V_STATE, v);
        return state;
    }

    private static INDArray contiguous(INDArray a) {
        return a.isView() || a.ordering() != 'c' ? a.dup('c') : a;
    }
}
