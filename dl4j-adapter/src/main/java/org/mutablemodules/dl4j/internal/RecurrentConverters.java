package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.AbstractLSTM;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMActivations;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMDataFormat;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMDirectionMode;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMLayerConfig;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.weights.LSTMLayerWeights;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converters of DL4J's recurrent layers and recurrent wrappers. Time series are [N, n, T] (NCW) inside the graph;
 * layers configured for NWC ([N, T, n]) are permuted on the way in and out.
 */
final class RecurrentConverters {

    private static final List<String> LSTM_ACTIVATIONS = List.of("tanh", "sigmoid", "hardsigmoid", "relu (default)",
            "softsign", "softplus");

    private RecurrentConverters() {
    }

    /**
     * LSTM, through libnd4j's lstmLayer op (whose gradient passes the finite-difference check and which takes any
     * sequence length). DL4J stores the four gate blocks of W [nIn, 4n], RW [n, 4n] and b [1, 4n] in the order
     * (cell input, forget, output, input gate); lstmLayer wants (input gate, forget, cell input, output), so the
     * blocks are cut with slice and concatenated in that order, which keeps the gradients flowing to DL4J's layout.
     */
    static final LayerConverter<LSTM> LSTM_LAYER = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        if (input.mask() != null && ctx.maskSet()) {
            return maskedLstm(ctx, layer, input);
        }
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        long n = layer.getNOut();
        LSTMLayerWeights weights = LSTMLayerWeights.builder()
                .weights(reorderGates(ctx, ctx.param("W"), layer.getNIn(), n))
                .rWeights(padRows(ctx, reorderGates(ctx, ctx.param("RW"), n, n), n))
                .bias(reorderGates(ctx, ctx.param("b").reshape(1, 4 * n), 1, n).reshape(4 * units(n)))
                .build();
        return lstmLayer(ctx, layer, nwc, input, weights);
    };

    /**
     * An LSTM over a masked series inside {@code LastTimeStep} (elsewhere DL4J's LSTM ignores the mask and passes it
     * on), unrolled over the replay's time steps, as DL4J computes it: at a step of padding the output and the cell
     * state are zeroed, so the next step present starts afresh (libnd4j's lstmLayer takes sequence lengths, not
     * masks). DL4J's gate blocks [a | f | o | i]: {@code c_t = sigma(z_i) f(z_a) + sigma(z_f) c_(t-1)},
     * {@code h_t = sigma(z_o) f(c_t)}.
     */
    private static LayerOutput maskedLstm(ConversionContext ctx, LSTM layer, LayerOutput input) {
        SameDiff sd = ctx.sd();
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        SDVariable x = nwc ? sd.permute(input.value(), 0, 2, 1) : input.value();           // [N, nIn, T]
        int steps = timeSteps(ctx, x, ctx.sequenceLength());
        long n = layer.getNOut();
        SDVariable w = ctx.param("W");
        SDVariable rw = ctx.param("RW");
        SDVariable b = ctx.param("b").reshape(1, 4 * n);
        SDVariable[] inputs = steps == 1 ? new SDVariable[] {x} : sd.split(x, steps, 2);
        SDVariable[] present = steps == 1 ? new SDVariable[] {input.mask()} : sd.split(input.mask(), steps, 1);
        SDVariable[] outputs = new SDVariable[steps];
        SDVariable h = null;
        SDVariable c = null;
        for (int t = 0; t < steps; t++) {
            SDVariable z = inputs[t].reshape(-1, layer.getNIn()).mmul(w).add(b);
            if (h != null) {
                z = z.add(h.mmul(rw));
            }
            SDVariable[] blocks = sd.split(z, 4, 1);
            SDVariable a = ActivationFunctions.apply(ctx, layer.getActivationFn(), blocks[0], 1);
            SDVariable forget = ActivationFunctions.apply(ctx, layer.getGateActivationFn(), blocks[1], 1);
            SDVariable out = ActivationFunctions.apply(ctx, layer.getGateActivationFn(), blocks[2], 1);
            SDVariable in = ActivationFunctions.apply(ctx, layer.getGateActivationFn(), blocks[3], 1);
            c = c == null ? in.mul(a) : in.mul(a).add(forget.mul(c));
            c = c.mul(present[t]);
            h = out.mul(ActivationFunctions.apply(ctx, layer.getActivationFn(), c, 1)).mul(present[t]);
            outputs[t] = h.reshape(-1, n, 1);
        }
        SDVariable series = steps == 1 ? outputs[0] : sd.concat(2, outputs);
        return new LayerOutput(nwc ? sd.permute(series, 0, 2, 1) : series, 3, input.mask());
    }

    /**
     * SimpleRnn: {@code h_t = act(x_t W + h_(t-1) RW + b)}, {@code h_(-1) = 0}, unrolled over the sequence length
     * declared at conversion. SameDiff's loops have no gradient in 1.0.0-M2.1 and libnd4j has no plain-RNN op that
     * takes an arbitrary activation, so the graph needs a fixed number of time steps.
     */
    static final LayerConverter<SimpleRnn> SIMPLE_RNN = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        if (layer.hasLayerNorm()) {
            throw ctx.unsupported("layer normalisation (hasLayerNorm)", List.of("SimpleRnn without layer norm"));
        }
        int steps = ctx.sequenceLength();
        if (steps <= 0) {
            throw ctx.unsupported("an unrolled time loop, which needs the sequence length",
                    List.of("MutableNetwork.of(net, sequenceLength) for networks with SimpleRnn layers"));
        }
        SameDiff sd = ctx.sd();
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        SDVariable x = nwc ? sd.permute(input.value(), 0, 2, 1) : input.value();           // [N, nIn, T]
        steps = timeSteps(ctx, x, steps);
        SDVariable w = ctx.param("W");
        SDVariable rw = ctx.param("RW");
        SDVariable b = ctx.param("b");
        // sd.split (equal parts) has a correct gradient, unlike strided_slice and splitV.
        SDVariable[] inputs = steps == 1 ? new SDVariable[] {x} : sd.split(x, steps, 2);
        SDVariable mask = input.mask();
        // DL4J zeroes the output at steps of padding, and the next step reads that zero
        SDVariable[] present = mask == null ? null : steps == 1 ? new SDVariable[] {mask} : sd.split(mask, steps, 1);
        SDVariable[] outputs = new SDVariable[steps];
        SDVariable previous = null;
        for (int t = 0; t < steps; t++) {
            SDVariable z = inputs[t].reshape(-1, layer.getNIn()).mmul(w).add(b);
            if (previous != null) {
                z = z.add(previous.mmul(rw));
            }
            previous = ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 1);
            if (present != null) {
                previous = previous.mul(present[t]);
            }
            outputs[t] = previous.reshape(-1, layer.getNOut(), 1);
        }
        SDVariable out = steps == 1 ? outputs[0] : sd.concat(2, outputs);
        return new LayerOutput(nwc ? sd.permute(out, 0, 2, 1) : out, 3, mask);
    };

    /**
     * The number of time steps of {@code x} ([N, n, T]): layers before this one (1D convolutions, padding, cropping,
     * upsampling) may have changed the network inputs' {@code sequenceLength}. Found by a dry run with every
     * time-series input {@code sequenceLength} steps long; {@code sequenceLength} itself if no dry run is possible.
     */
    private static int timeSteps(ConversionContext ctx, SDVariable x, int sequenceLength) {
        Map<String, long[]> shapes = ConversionDryRun.shapesAtLength(ctx.sd(), List.of(x.name()), sequenceLength);
        return shapes == null ? sequenceLength : (int) shapes.get(x.name())[2];
    }

    /** RnnOutputLayer: a dense layer applied at every time step, scored against [N, nOut, T] labels. */
    static final LayerConverter<RnnOutputLayer> RNN_OUTPUT = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        SameDiff sd = ctx.sd();
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        SDVariable x = nwc ? input.value() : sd.permute(input.value(), 0, 2, 1);          // [N, T, nIn]
        SDVariable rows = x.reshape(-1, layer.getNIn());
        SDVariable z = FeedForwardConverters.affine(ctx, rows, layer.hasBias());
        SDVariable activated = ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 1);
        SDVariable ntc = sd.reshape(activated, sd.concat(0, ctx.dimension(x, 0), ctx.longVector(-1),
                ctx.longVector(layer.getNOut())));
        SDVariable out = nwc ? ntc : sd.permute(ntc, 0, 2, 1);
        SDVariable labelMask = ctx.labelMask();
        if (labelMask != null) {
            // DL4J scores the steps the labels mask keeps (and zeroes the output at the others: done by the caller,
            // which has the mask at inference too)
            SDVariable labels = nwc ? ctx.labelsPlaceholder(-1, -1, layer.getNOut())
                    : ctx.labelsPlaceholder(-1, layer.getNOut(), -1);
            SDVariable labelRows = (nwc ? labels : sd.permute(labels, 0, 2, 1)).reshape(-1, layer.getNOut());
            SDVariable weights = SequenceMasks.labelWeights(ctx, labelMask, layer.getLossFn(),
                    layer.getActivationFn(), layer.getNOut()).div(sd.sum(ctx.dimension(labels, 0)
                    .castTo(ctx.dataType())));
            ctx.defineLoss(Losses.weightedScore(layer.getLossFn(), layer.getActivationFn(), z, activated, labelRows,
                    weights, layer.getNOut(), what -> ctx.unsupported(what, Losses.SUPPORTED)), labels);
            return new LayerOutput(out, 3);
        }
        if (ctx.hasLabels()) {
            SDVariable labels = nwc ? ctx.labelsPlaceholder(-1, -1, layer.getNOut())
                    : ctx.labelsPlaceholder(-1, layer.getNOut(), -1);
            // A softmax scored by cross-entropy: the fused op on the rows of logits, its value DL4J's clipped score
            SDVariable labelRows = (nwc ? labels : sd.permute(labels, 0, 2, 1)).reshape(-1, layer.getNOut());
            SDVariable score = Losses.scoreOfRows(ctx, layer.getLossFn(), layer.getActivationFn(), z, activated,
                    labelRows, sd.sum(ctx.dimension(labels, 0).castTo(ctx.dataType())));
            if (score == null) {
                SDVariable featuresFirst = nwc ? sd.permute(out, 0, 2, 1) : out;
                SDVariable labelsFirst = nwc ? sd.permute(labels, 0, 2, 1) : labels;
                score = Losses.score(ctx, layer.getLossFn(), featuresFirst, labelsFirst);
            }
            ctx.defineLoss(score, labels);
        }
        return new LayerOutput(out, 3);
    };

    /** LastTimeStep: the wrapped recurrent layer's output at the last time step, [N, n]. */
    static final LayerConverter<LastTimeStep> LAST_TIME_STEP = (ctx, layer, input) -> {
        LayerOutput inner = LayerConverters.convert(ctx.wrapped("", false).settingMask(), layer.getUnderlying(),
                input);
        boolean nwc = rnnFormat(layer.getUnderlying()) == RNNFormat.NWC;
        if (input.mask() != null) {
            return new LayerOutput(SequenceMasks.lastPresent(inner.value(), input.mask(), nwc), 2);
        }
        SDVariable last = nwc
                ? inner.value().get(SDIndex.all(), SDIndex.point(-1), SDIndex.all())
                : inner.value().get(SDIndex.all(), SDIndex.all(), SDIndex.point(-1));
        return new LayerOutput(last, 2);
    };

    /**
     * MaskZeroLayer: the wrapped LSTM or SimpleRnn (or a Bidirectional of them) given the mask DL4J computes from the
     * input's values: a time step is padding where every feature equals the masking value. The wrapped layer resets
     * its state and zeroes its output there, as with a features mask set on it; the layers after get no mask (DL4J's
     * {@code feedForwardMaskArray} returns none), and a features mask given with the input is overridden, as in DL4J.
     * The mask is a function of the values, not of the parameters: no gradient flows through it. Unrolled over the
     * sequence length of the conversion, like SimpleRnn.
     */
    static final LayerConverter<MaskZeroLayer> MASK_ZERO = (ctx, layer, input) -> {
        Layer underlying = layer.getUnderlying();
        Layer recurrent = underlying instanceof Bidirectional ? ((Bidirectional) underlying).getFwd() : underlying;
        if (!(recurrent instanceof LSTM || recurrent instanceof SimpleRnn)
                || underlying instanceof Bidirectional && rnnFormat(underlying) == RNNFormat.NWC) {
            // DL4J looks for the feature axis of a Bidirectional's NWC input in the wrong place
            throw ctx.unsupported("MaskZeroLayer around " + underlying.getClass().getSimpleName()
                    + (underlying instanceof Bidirectional ? " of " + recurrent.getClass().getSimpleName() + " ("
                    + rnnFormat(underlying) + ")" : ""), List.of("MaskZeroLayer around LSTM or SimpleRnn",
                    "around a Bidirectional of LSTM or SimpleRnn in NCW"));
        }
        if (ctx.sequenceLength() <= 0) {
            throw ctx.unsupported("MaskZeroLayer's time loop, unrolled over the sequence length",
                    List.of("MutableNetwork.of(net, sequenceLength) for networks with MaskZeroLayer"));
        }
        SameDiff sd = ctx.sd();
        int featureAxis = rnnFormat(underlying) == RNNFormat.NWC ? 2 : 1;
        long features = ((BaseRecurrentLayer) recurrent).getNIn();
        SDVariable x = input.value();
        SDVariable masked = sd.eq(x, layer.getMaskingValue()).castTo(x.dataType());
        SDVariable mask = sd.neq(sd.sum(masked, featureAxis), (double) features).castTo(x.dataType());
        LayerOutput inner = LayerConverters.convert(ctx.wrapped("", false).settingMask(), underlying,
                new LayerOutput(x, 3, new StopGradient(sd, mask).outputVariable()));
        return new LayerOutput(inner.value(), inner.rank());
    };

    /**
     * Bidirectional, in each of DL4J's modes: the forward layer reads the sequence, the backward layer reads it
     * reversed and its output is reversed back; the two are concatenated along the features, added, multiplied or
     * averaged. Parameters keep DL4J's prefixed keys ({@code fW}, {@code bRW}, ...).
     */
    static final LayerConverter<Bidirectional> BIDIRECTIONAL = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        int timeAxis = rnnFormat(layer.getFwd()) == RNNFormat.NWC ? 1 : 2;
        int featureAxis = timeAxis == 1 ? 2 : 1;
        LayerOutput forward = LayerConverters.convert(ctx.wrapped("f", false), layer.getFwd(), input);
        // the backward layer reads the mask reversed too, so its state starts afresh after the padding
        LayerOutput reversedInput = new LayerOutput(sd.reverse(input.value(), timeAxis), input.rank(),
                input.mask() == null ? null : sd.reverse(input.mask(), 1));
        LayerOutput backward = LayerConverters.convert(ctx.wrapped("b", false), layer.getBwd(), reversedInput);
        SDVariable f = forward.value();
        SDVariable b = backward.rank() == 3 ? sd.reverse(backward.value(), timeAxis) : backward.value();
        int axis = forward.rank() == 3 ? featureAxis : 1;
        switch (layer.getMode()) {
            case CONCAT:
                return forward.with(sd.concat(axis, f, b));
            case ADD:
                return forward.with(f.add(b));
            case MUL:
                return forward.with(f.mul(b));
            case AVERAGE:
                return forward.with(f.add(b).mul(0.5));
            default:
                throw ctx.unsupported("Bidirectional mode " + layer.getMode(), List.of("CONCAT", "ADD", "MUL", "AVERAGE"));
        }
    };

    private static RNNFormat rnnFormat(Layer layer) {
        if (layer instanceof BaseRecurrentLayer) {
            return ((BaseRecurrentLayer) layer).getRnnDataFormat();
        }
        if (layer instanceof Bidirectional) {
            return rnnFormat(((Bidirectional) layer).getFwd());
        }
        if (layer instanceof BaseWrapperLayer) {
            return rnnFormat(((BaseWrapperLayer) layer).getUnderlying());
        }
        return RNNFormat.NCW;
    }

    /**
     * The number of units given to lstmLayer for an LSTM of {@code n} units: libnd4j's lstmLayer fails for a single
     * unit (a shape error forward, a native crash in backprop), so one unit is computed as two, the second with zero
     * weights: it never reaches the first, whose output alone is kept.
     */
    private static long units(long n) {
        return n == 1 ? 2 : n;
    }

    /**
     * Columns [a | f | o | i] (DL4J) to [i | f | a | o] (libnd4j's lstmLayer), each block n wide, then widened with
     * zero columns to {@link #units} wide.
     */
    private static SDVariable reorderGates(ConversionContext ctx, SDVariable m, long rows, long n) {
        SameDiff sd = ctx.sd();
        SDVariable[] blocks = new SDVariable[4];
        for (int k = 0; k < 4; k++) {
            blocks[k] = sd.slice(m, new int[] {0, (int) (k * n)}, (int) rows, (int) n);
            if (units(n) > n) {
                blocks[k] = sd.concat(1, blocks[k], sd.constant(Nd4j.zeros(ctx.dataType(), rows, units(n) - n)));
            }
        }
        return sd.concat(1, blocks[3], blocks[1], blocks[0], blocks[2]);
    }

    /** Recurrent weights [n, 4 units] with zero rows added to [units, 4 units] (see {@link #units}). */
    private static SDVariable padRows(ConversionContext ctx, SDVariable rw, long n) {
        long units = units(n);
        return units == n ? rw
                : ctx.sd().concat(0, rw, ctx.sd().constant(Nd4j.zeros(ctx.dataType(), units - n, 4 * units)));
    }

    /** A peephole vector [n] with zeros added to [units] (see {@link #units}). */
    private static SDVariable padVector(ConversionContext ctx, SDVariable v, long n) {
        long units = units(n);
        return units == n ? v : ctx.sd().concat(0, v, ctx.sd().constant(Nd4j.zeros(ctx.dataType(), units - n)));
    }

    private static LSTMActivations lstmActivation(ConversionContext ctx, IActivation fn) {
        if (fn instanceof ActivationTanH) {
            return LSTMActivations.TANH;
        } else if (fn instanceof ActivationSigmoid) {
            return LSTMActivations.SIGMOID;
        } else if (fn instanceof ActivationHardSigmoid) {
            return LSTMActivations.HARD_SIGMOID;
        } else if (fn instanceof ActivationSoftSign) {
            return LSTMActivations.SOFTSIGN;
        } else if (fn instanceof ActivationSoftPlus) {
            return LSTMActivations.SOFTPLUS;
        } else if (fn instanceof ActivationReLU && ((ActivationReLU) fn).getMax() == null
                && ((ActivationReLU) fn).getThreshold() == null && ((ActivationReLU) fn).getNegativeSlope() == null) {
            return LSTMActivations.RELU;
        }
        throw ctx.unsupported("LSTM activation " + fn, LSTM_ACTIVATIONS);
    }

    /**
     * GravesLSTM: an LSTM with peephole connections, through libnd4j's lstmLayer op with peephole weights. W [nIn, 4n]
     * and b [1, 4n] hold DL4J's gate blocks (cell input, forget, output, input gate), reordered as for LSTM; RW
     * [n, 4n + 3] holds the recurrent blocks in its first 4n columns, then the peephole columns of the forget gate
     * (on c_(t-1)), the output gate (on c_t) and the input gate (on c_(t-1)); lstmLayer takes them as one [3n]
     * vector in the order (input gate, forget, output).
     */
    @SuppressWarnings("deprecation")    // GravesLSTM is deprecated by DL4J, but networks (and its zoo) still use it
    static final LayerConverter<GravesLSTM> GRAVES_LSTM = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        if (input.mask() != null && ctx.maskSet()) {
            // DL4J resets the state at padding inside LastTimeStep; with its peepholes, not converted
            throw SequenceMasks.refused(ctx);
        }
        SameDiff sd = ctx.sd();
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        int n = (int) layer.getNOut();
        SDVariable rw = ctx.param("RW");
        SDVariable forgetPeephole = sd.slice(rw, new int[] {0, 4 * n}, n, 1).reshape(n);
        SDVariable outputPeephole = sd.slice(rw, new int[] {0, 4 * n + 1}, n, 1).reshape(n);
        SDVariable inputPeephole = sd.slice(rw, new int[] {0, 4 * n + 2}, n, 1).reshape(n);
        LSTMLayerWeights weights = LSTMLayerWeights.builder()
                .weights(reorderGates(ctx, ctx.param("W"), layer.getNIn(), n))
                .rWeights(padRows(ctx, reorderGates(ctx, rw, n, n), n))      // its first 4n columns
                .peepholeWeights(sd.concat(0, padVector(ctx, inputPeephole, n), padVector(ctx, forgetPeephole, n),
                        padVector(ctx, outputPeephole, n)))
                .bias(reorderGates(ctx, ctx.param("b").reshape(1, 4 * n), 1, n).reshape(4 * units(n)))
                .build();
        return lstmLayer(ctx, layer, nwc, input, weights);
    };

    /** libnd4j's lstmLayer, forward over the whole sequence, with the layer's gate and cell activations. */
    private static LayerOutput lstmLayer(ConversionContext ctx, AbstractLSTM layer, boolean nwc, LayerOutput input,
                                         LSTMLayerWeights weights) {
        LSTMLayerConfig config = LSTMLayerConfig.builder()
                .lstmdataformat(nwc ? LSTMDataFormat.NTS : LSTMDataFormat.NST)
                .directionMode(LSTMDirectionMode.FWD)
                .gateAct(lstmActivation(ctx, layer.getGateActivationFn()))
                .cellAct(lstmActivation(ctx, layer.getActivationFn()))
                .outAct(lstmActivation(ctx, layer.getActivationFn()))
                .retFullSequence(true).retLastH(false).retLastC(false)
                .build();
        SDVariable out = ctx.sd().rnn().lstmLayer(input.value(), weights, config)[0];
        if (units(layer.getNOut()) > layer.getNOut()) {
            out = ctx.sd().split(out, 2, nwc ? 2 : 1)[0];      // the padding unit dropped (split: a right gradient)
        }
        return new LayerOutput(out, 3, input.mask());
    }
}
