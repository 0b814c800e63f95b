package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@code SimpleRnn} or {@code LSTM} layer of a {@link FunctionalNetwork}, unrolled over its time steps, with
 * backpropagation through time written as explicit per-step rules (libnd4j's {@code lstmLayer} backward cannot be
 * differentiated, and SameDiff's loops have no gradient). With DL4J's parameters W [nIn, k], RW [n, k], b [1, k]
 * and {@code z_t = x_t W + h_(t-1) RW + b} ({@code h_(-1) = 0}):
 * <pre>
 * SimpleRnn (k = n):  h_t = f(z_t)
 * LSTM (k = 4n, DL4J's blocks [a | f | o | i] of z_t):
 *   c_t = sigma(z_i) f(z_a) + sigma(z_f) c_(t-1),   h_t = sigma(z_o) f(c_t)      (c_(-1) = 0)
 * backward, from t = T - 1 down to 0:
 *   dh_t = dL/dh_t + dz_(t+1) RW^T
 *   SimpleRnn: dz_t = f'(z_t) dh_t
 *   LSTM:      dc_t = f'(c_t) o_t dh_t + dc_(t+1) sigma(z_f)_(t+1)
 *              dz_t = [f'(z_a) i dc_t | sigma'(z_f) c_(t-1) dc_t | sigma'(z_o) f(c_t) dh_t | sigma'(z_i) a dc_t]
 * dW = sum_t x_t^T dz_t,  dRW = sum_t h_(t-1)^T dz_t,  db = sum_t of dz_t summed over examples,  dx_t = dz_t W^T
 * </pre>
 * The sums over time are single matrix products of the time-major rows [T N, ...]. Wrapped in {@code LastTimeStep}
 * ({@code lastStepOnly}), the output is {@code h_(T-1)} [N, n] and only the last step receives a gradient from above.
 *
 * @param description  how messages name the layer
 * @param keyPrefix    the prefix of its parameter keys
 * @param nIn          input features
 * @param nOut         units, n
 * @param lstm         true for an LSTM, false for a SimpleRnn
 * @param nwc          true for [N, T, n] arrays, false for [N, n, T]
 * @param steps        the number of time steps when the input's shape does not tell (the conversion's sequence
 *                     length), 0 if unknown
 * @param activation   the layer's activation f (an LSTM's cell input and output)
 * @param gate         an LSTM's gate activation sigma, null for a SimpleRnn
 * @param lastStepOnly true inside {@code LastTimeStep}
 */
record RecurrentRule(String description, String keyPrefix, long nIn, long nOut, boolean lstm, boolean nwc, int steps,
                     DifferentiableActivation activation, DifferentiableActivation gate, boolean lastStepOnly)
        implements ExplicitLayer {

    /** The saved values of one LSTM step, in {@code Pass.steps()} order. */
    private static final int ZA = 0;
    private static final int ZF = 1;
    private static final int ZO = 2;
    private static final int ZI = 3;
    private static final int A = 4;
    private static final int F = 5;
    private static final int O = 6;
    private static final int I = 7;
    private static final int C = 8;
    private static final int FC = 9;
    /** Both cells: the step's pre-activation (a SimpleRnn's only) and output (masked where a mask applies). */
    private static final int Z = 0;
    private static final int H = 10;
    /** A SimpleRnn's output before the mask, {@code f(z_t)}, whose derivative its backward rule reads. */
    private static final int FZ = 11;
    /** The step's column of the mask [N, 1], or null where no mask applies. */
    private static final int M = 12;
    /** Inside {@code LastTimeStep} with a mask: the step's column of the last-step selection [N, 1]. */
    private static final int LAST = 13;

    String weightKey() {
        return keyPrefix + "W";
    }

    String recurrentKey() {
        return keyPrefix + "RW";
    }

    String biasKey() {
        return keyPrefix + "b";
    }

    @Override
    public List<String> parameterKeys() {
        return List.of(weightKey(), recurrentKey(), biasKey());
    }

    /** {@return the number of time steps: the input's, else the conversion's} */
    private int timeSteps(long[] inputShape) {
        long t = inputShape != null ? inputShape[nwc ? 0 : 1] : steps;
        if (t <= 0) {
            throw new UnsupportedLayerException(description + " is unrolled over its time steps by lossGradients, "
                    + "which needs their number: give an input of known length (" + (nwc ? "[N, T, " + nIn + "]"
                    : "[N, " + nIn + ", T]") + ") or convert the network with MutableNetwork.of(net, "
                    + "sequenceLength).");
        }
        return (int) t;
    }

    /**
     * {@code v} (this layer's format, [N, c, T] or [N, T, c]) as time-major rows [T N, c], reshaped through
     * [t, N, c] so that a series of another length than the {@code t} steps unrolled fails at run time instead of
     * mixing steps.
     */
    private SDVariable timeMajorRows(SDVariable v, long c, int t) {
        SameDiff sd = v.getSameDiff();
        SDVariable timeMajor = sd.permute(v, nwc ? new int[] {1, 0, 2} : new int[] {2, 0, 1});
        return sd.reshape(timeMajor, sd.stack(0, Window2d.scalar(sd, t), sd.sizeAt(v, 0), Window2d.scalar(sd, c)))
                .reshape(-1, c);
    }

    /** Time-major rows [T N, c] back to this layer's format. */
    private SDVariable fromTimeMajorRows(SDVariable rows, int t, long c) {
        return rows.getSameDiff().permute(rows.reshape(t, -1, c), nwc ? new int[] {1, 0, 2} : new int[] {1, 2, 0});
    }

    private static SDVariable[] split(SDVariable v, int parts, int axis) {
        return parts == 1 ? new SDVariable[] {v} : v.getSameDiff().split(v, parts, axis);
    }

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        return forward(input, inputShape, parameters, null);
    }

    /**
     * With a features mask as DL4J applies it: a SimpleRnn zeroes its output at steps of padding, and the next step
     * reads that zero; an LSTM does the same with its output and cell state inside {@code LastTimeStep}, which sets the
     * mask on it, and elsewhere computes without it (DL4J's {@code feedForwardMaskArray} does not keep it). The mask
     * is passed on, but past {@code LastTimeStep}, which takes each example's last step present.
     */
    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters, SDVariable mask) {
        SameDiff sd = input.getSameDiff();
        int t = timeSteps(inputShape);
        SDVariable[] present = mask == null || lstm && !lastStepOnly ? null : split(mask, t, 1);
        SDVariable rw = parameters.get(recurrentKey());
        long k = lstm ? 4 * nOut : nOut;
        // every step's input term at once; sd.split (equal parts) has a right gradient, unlike strided_slice
        SDVariable[] inputTerms = split(timeMajorRows(input, nIn, t).mmul(parameters.get(weightKey()))
                .add(parameters.get(biasKey()).reshape(1, k)), t, 0);
        List<SDVariable[]> saved = new ArrayList<>();
        SDVariable h = null;
        SDVariable c = null;
        for (int s = 0; s < t; s++) {
            SDVariable z = h == null ? inputTerms[s] : inputTerms[s].add(h.mmul(rw));
            SDVariable[] step = new SDVariable[LAST + 1];
            if (lstm) {
                SDVariable[] blocks = sd.split(z, 4, 1);
                step[ZA] = blocks[0];
                step[ZF] = blocks[1];
                step[ZO] = blocks[2];
                step[ZI] = blocks[3];
                step[A] = activation.forward(step[ZA]);
                step[F] = gate.forward(step[ZF]);
                step[O] = gate.forward(step[ZO]);
                step[I] = gate.forward(step[ZI]);
                c = c == null ? step[I].mul(step[A]) : step[I].mul(step[A]).add(step[F].mul(c));
                if (present != null) {
                    c = c.mul(present[s]);
                }
                step[C] = c;
                step[FC] = activation.forward(c);
                h = step[O].mul(step[FC]);
            } else {
                step[Z] = z;
                h = activation.forward(z);
                step[FZ] = h;
            }
            if (present != null) {
                h = h.mul(present[s]);
                step[M] = present[s];
            }
            step[H] = h;
            saved.add(step);
        }
        SDVariable output;
        long[] outShape;
        if (lastStepOnly && mask != null) {
            // each example's last step present (DL4J's TimeSeriesUtils.pullLastTimeSteps), as the conversion takes it
            SDVariable[] last = split(lastPresent(mask), t, 1);
            SDVariable sum = null;
            for (int s = 0; s < t; s++) {
                SDVariable term = saved.get(s)[H].mul(last[s]);
                sum = sum == null ? term : sum.add(term);
                saved.get(s)[LAST] = last[s];
            }
            output = sum;
            outShape = new long[] {nOut};
        } else if (lastStepOnly) {
            output = h;
            outShape = new long[] {nOut};
        } else {
            SDVariable[] columns = new SDVariable[t];
            for (int s = 0; s < t; s++) {
                columns[s] = saved.get(s)[H].reshape(-1, nOut, 1);
            }
            SDVariable ncw = t == 1 ? columns[0] : sd.concat(2, columns);
            output = nwc ? sd.permute(ncw, 0, 2, 1) : ncw;
            outShape = nwc ? new long[] {t, nOut} : new long[] {nOut, t};
        }
        return new Pass(input, null, output, inputShape == null ? null : inputShape.clone(), outShape,
                List.copyOf(saved), mask);
    }

    /**
     * 1 at each example's last step present ([N, T]): a step present with none present after it (an exclusive
     * reverse cumulative sum counts those), as {@code SequenceMasks.lastPresent} selects it.
     */
    private static SDVariable lastPresent(SDVariable mask) {
        SameDiff sd = mask.getSameDiff();
        SDVariable after = sd.cumsum(mask, true, true, 1);
        return mask.mul(sd.eq(after, 0.0).castTo(mask.dataType()));
    }

    @Override
    public SDVariable maskAfter(SDVariable mask) {
        return lastStepOnly ? null : mask;
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        SameDiff sd = outputGradient.getSameDiff();
        List<SDVariable[]> saved = pass.steps();
        int t = saved.size();
        SDVariable w = parameters.get(weightKey());
        SDVariable rw = parameters.get(recurrentKey());
        SDVariable[] fromAbove = lastStepOnly ? null : split(timeMajorRows(outputGradient, nOut, t), t, 0);
        SDVariable[] dz = new SDVariable[t];
        SDVariable dcLater = null;      // dc_(t+1) sigma(z_f)_(t+1)
        boolean selected = lastStepOnly && pass.mask() != null;
        for (int s = t - 1; s >= 0; s--) {
            SDVariable[] step = saved.get(s);
            SDVariable dh = selected ? outputGradient.mul(step[LAST])
                    : lastStepOnly ? (s == t - 1 ? outputGradient : null) : fromAbove[s];
            if (s < t - 1) {
                SDVariable recurrent = sd.mmul(dz[s + 1], rw, false, true, false);
                dh = dh == null ? recurrent : dh.add(recurrent);
            }
            if (step[M] != null) {
                dh = dh.mul(step[M]);           // the output was masked: h_t = m_t h~_t
            }
            if (!lstm) {
                dz[s] = activation.backward(step[Z], step[FZ], dh, nOut);
                continue;
            }
            SDVariable dc = activation.backward(step[C], step[FC], dh.mul(step[O]), nOut);
            if (dcLater != null) {
                dc = dc.add(dcLater);
            }
            if (step[M] != null) {
                dc = dc.mul(step[M]);           // and so was the cell state: c_t = m_t c~_t
            }
            SDVariable dza = activation.backward(step[ZA], step[A], dc.mul(step[I]), nOut);
            SDVariable dzf = s == 0 ? sd.zerosLike(step[ZF])
                    : gate.backward(step[ZF], step[F], dc.mul(saved.get(s - 1)[C]), nOut);
            SDVariable dzo = gate.backward(step[ZO], step[O], dh.mul(step[FC]), nOut);
            SDVariable dzi = gate.backward(step[ZI], step[I], dc.mul(step[A]), nOut);
            dz[s] = sd.concat(1, dza, dzf, dzo, dzi);
            dcLater = dc.mul(step[F]);
        }
        SDVariable allDz = t == 1 ? dz[0] : sd.concat(0, dz);                 // [T N, k], time-major
        gradients.put(weightKey(), sd.mmul(timeMajorRows(pass.input(), nIn, t), allDz, true, false, false));
        if (t == 1) {
            gradients.put(recurrentKey(), sd.zerosLike(rw));
        } else {
            SDVariable[] earlier = new SDVariable[t - 1];
            for (int s = 0; s < t - 1; s++) {
                earlier[s] = saved.get(s)[H];
            }
            SDVariable hBefore = t == 2 ? earlier[0] : sd.concat(0, earlier);
            SDVariable dzAfter = t == 2 ? dz[1] : sd.concat(0, Arrays.copyOfRange(dz, 1, t));
            gradients.put(recurrentKey(), sd.mmul(hBefore, dzAfter, true, false, false));
        }
        SDVariable b = parameters.get(biasKey());
        gradients.put(biasKey(), sd.reshape(Reductions.sum(allDz, 2, true, 0), sd.shape(b)));
        return needInputGradient ? fromTimeMajorRows(sd.mmul(allDz, w, false, true, false), t, nIn) : null;
    }
}
