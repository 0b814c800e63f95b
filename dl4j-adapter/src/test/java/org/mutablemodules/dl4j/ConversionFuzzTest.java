package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mutablemodules.dl4j.RandomNetworks.Generated;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Fuzzed conversion: seeded random DL4J networks ({@link RandomNetworks}) each either convert with output parity, score
 * parity and gradient parity with DL4J (where DL4J's own score and gradient are right), or are refused with an
 * {@link UnsupportedLayerException} that names the layer; never another exception, and the source network is never
 * changed. {@code -Dfuzz.cases=N -Dfuzz.start=S} run seeds S..S+N-1 ({@code scripts/fuzz.sh} runs thousands); the
 * counts (converted, refused, invalid for DL4J) are printed at the end.
 */
class ConversionFuzzTest {

    private static final int CASES = Integer.getInteger("fuzz.cases", 400);
    private static final long START = Long.getLong("fuzz.start", 1L);

    private static final AtomicInteger CONVERTED = new AtomicInteger();
    private static final AtomicInteger GRADIENTS_COMPARED = new AtomicInteger();
    private static final AtomicInteger FITS_COMPARED = new AtomicInteger();
    private static final AtomicInteger REFUSED = new AtomicInteger();
    private static final AtomicInteger MASKS_COMPARED = new AtomicInteger();
    private static final AtomicInteger MASKS_REFUSED = new AtomicInteger();
    private static final AtomicInteger INVALID = new AtomicInteger();
    /** Converted networks whose MaskZeroLayer reads data padded with its masking value (output and score compared). */
    private static final AtomicInteger MASK_ZERO_PADDED = new AtomicInteger();
    private static final Map<String, Integer> SKIPPED_FOR_DL4J_BUGS = new TreeMap<>();
    private static final Map<String, Integer> REFUSALS = new TreeMap<>();
    /** The labels masks the masked scores were compared with, by kind. */
    private static final Map<String, Integer> LABEL_MASKS = new TreeMap<>();
    private static final Map<String, Integer> INVALID_REASONS = new TreeMap<>();
    /** The converted networks (output and score compared) holding each of DL4J's SameDiff-based layers and vertices. */
    private static final Map<String, Integer> SAME_DIFF_BASED = new TreeMap<>();
    private static final long STARTED = System.nanoTime();

    static LongStream seeds() {
        return LongStream.range(START, START + CASES);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void convertsWithParityOrIsRefusedByName(long seed) throws IOException {
        // A native crash (ND4J aborts the JVM on some shape errors) leaves no report: the seed is written first.
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "fuzz-last-seed.txt"), seed + "\n");
        Generated g = null;
        // A draw DL4J itself refuses (its builder or init throws) is no case: draw again from a seed derived from
        // this one, so that every test is a real network and none is skipped.
        for (int attempt = 0; g == null; attempt++) {
            long drawn = attempt == 0 ? seed : seed * 1_000_003L + attempt;
            try {
                g = RandomNetworks.generate(drawn);
            } catch (RandomNetworks.InvalidForDl4j e) {
                INVALID.incrementAndGet();
                Throwable cause = e.getCause();
                String reason = cause.getClass().getSimpleName() + ": " + cause.getMessage();
                tally(INVALID_REASONS, reason.length() > 110 ? reason.substring(0, 110) : reason);
                if (attempt == 49) {
                    throw new AssertionError("50 draws from seed " + seed + " were all invalid for DL4J: " + reason);
                }
            }
        }
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "fuzz-last-seed.txt"),
                seed + " " + g.description() + "\n");
        try {
            check(g);
        } catch (Throwable e) {
            throw new AssertionError("seed " + seed + " failed: " + e + "\n  network: " + g.description()
                    + "\n  configuration: " + configuration(g.net()), e);
        }
    }

    private static void check(Generated g) {
        Model net = g.net();
        INDArray params = net.params().dup();
        String conf = configuration(net);
        INDArray[] x = dup(g.inputs());
        MutableNetwork m;
        try {
            m = convert(g, new Random(g.seed()).nextBoolean());
        } catch (UnsupportedLayerException e) {
            assertNamesALayer(e, net);
            assertUnchanged(net, params, conf, g);
            REFUSED.incrementAndGet();
            tally(REFUSALS, refusal(e.getMessage()));
            return;
        }
        assertUnchanged(net, params, conf, g);
        if (net instanceof ComputationGraph && activationLayerAppliedInPlace((ComputationGraph) net)) {
            // README "Known limits": DL4J's ActivationLayer (and PReLULayer) overwrites an input another vertex
            // reads, so DL4J's own output and score are not the network's function
            tally(SKIPPED_FOR_DL4J_BUGS, "ComputationGraph ActivationLayer or PReLULayer applied in place to a shared input");
            return;
        }
        if (layers(net).stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.SeparableConvolution2D
                && ((org.deeplearning4j.nn.conf.layers.SeparableConvolution2D) l).getNIn() == 1)) {
            // libnd4j's sconv2d fails or computes something else for one input channel (seed 793); the graph is
            // checked against DL4J's depthwise-then-pointwise equivalent in SeparableOneChannelTest
            tally(SKIPPED_FOR_DL4J_BUGS, "SeparableConvolution2D with one input channel: DL4J's output is wrong");
            return;
        }
        INDArray[] actual = m.outputs(x);
        assertEquals(g.dl4jOutputs().length, actual.length, "number of outputs");
        if (lstmSoftplusOverflowed(net, actual)) {
            // README "Known limits": libnd4j's lstmLayer computes softplus as log(1 + exp(x)), which overflows for
            // pre-activations beyond exp's range (seed 1029: LSTM inputs of 2,858 after a cube activation)
            tally(SKIPPED_FOR_DL4J_BUGS,
                    "(libnd4j) LSTM softplus overflowed to NaN on pre-activations beyond exp's range");
            return;
        }
        for (int i = 0; i < actual.length; i++) {
            assertClose(g.dl4jOutputs()[i], actual[i], 1e-8, "output " + i);
        }
        assertSurvivesTheFile(m, x, actual);
        CONVERTED.incrementAndGet();
        sameDiffBasedKinds(net).forEach(kind -> tally(SAME_DIFF_BASED, kind));
        if (g.description().contains("data padded with")) {
            MASK_ZERO_PADDED.incrementAndGet();
        }
        checkMasked(g, m, x);
        if (!m.hasLoss()) {
            assertUnchanged(net, params, conf, g);
            return;
        }
        INDArray[] y = g.labels();
        if (outputsFlattenTimeIntoExamples(g)) {
            // An OutputLayer after RnnToFeedForwardPreProcessor: labels with one row per example and time step.
            double score = m.score(x, y);
            assertUnchanged(net, params, conf, g);
            assertEquals(Networks.dl4jInferenceScore(net, dup(g.inputs()), y), score, 1e-8 * Math.max(1, Math.abs(score)),
                    "score of time-flattened outputs");
            tally(SKIPPED_FOR_DL4J_BUGS, "time-flattened outputs: score compared, gradients not");
            return;
        }
        String bug = dl4jScoreBug(net);
        if (bug != null) {
            m.score(x, y);      // the graph scores it; DL4J's own score is wrong or fails
            assertUnchanged(net, params, conf, g);
            tally(SKIPPED_FOR_DL4J_BUGS, bug);
            return;
        }
        if (dl4jTrainingDiffersFromInference(net)) {
            double score = m.score(x, y);
            assertUnchanged(net, params, conf, g);
            assertEquals(Networks.dl4jInferenceScore(net, dup(g.inputs()), y), score,
                    1e-8 * Math.max(1, Math.abs(score)), "score at inference");
            return;
        }
        double score = m.score(x, y);
        Map<String, INDArray> gradients = Checks.quietly(() -> m.gradients(x, y));
        assertUnchanged(net, params, conf, g);
        // README "Known limits": DL4J's LossLayer scores its input after its activation's backprop overwrote it in
        // place, so its training score is wrong (its gradients are right): the inference score is compared instead.
        boolean lossLayerBug = dl4jLossLayerScoreBug(net);
        double inferenceScore = lossLayerBug ? Networks.dl4jInferenceScore(net, dup(g.inputs()), y) : Double.NaN;
        Gradient expected;
        try {
            expected = Networks.dl4jGradient(net, dup(g.inputs()), y);
        } catch (RuntimeException e) {
            org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
            // DL4J's own training pass fails (workspace validation, "all epsilons not set"): nothing to compare with
            String why = String.valueOf(e.getMessage());
            tally(SKIPPED_FOR_DL4J_BUGS, "DL4J's training pass throws: " + why.substring(0, Math.min(60, why.length())));
            return;
        }
        double dl4jScore = Networks.dl4jScore(net);
        if (lossLayerBug) {
            tally(SKIPPED_FOR_DL4J_BUGS, "LossLayer's training score read from its input after an in-place activation "
                    + "backprop: inference score compared");
            dl4jScore = inferenceScore;
        }
        assertEquals(dl4jScore, score, 1e-8 * Math.max(1, Math.abs(dl4jScore)), "score");
        if (dl4jRnnLossLayerSoftmaxGradientIsWrong(net)) {
            tally(SKIPPED_FOR_DL4J_BUGS, "LSTM under a softmax RnnLossLayer: DL4J's gradients differ from finite "
                    + "differences of its own score (seeds 252, 352): gradients not compared");
            return;
        }
        if (dl4jNhwcSoftmaxGradientIsWrong(net)) {
            tally(SKIPPED_FOR_DL4J_BUGS, "softmax on an NHWC convolution: DL4J's gradients differ from finite "
                    + "differences of its own score (seed 2765): gradients not compared");
            return;
        }
        if (dl4jLrnGradientIsApproximate(net)) {
            tally(SKIPPED_FOR_DL4J_BUGS, "LRN gradient approximate (deeplearning4j#7272): gradients not compared");
            return;
        }
        if (dl4jSameDiffBasedGradientIsWrong(net)) {
            // README "Known limits"; their gradients are checked against central differences of the score in
            // LayerParityTest (Dl4jSameDiffLayerCases)
            tally(SKIPPED_FOR_DL4J_BUGS, "DL4J's SameDiff-based layers and vertices: DL4J's gradients are wrong, "
                    + "gradients and fit not compared");
            return;
        }
        if (dl4jMaskZeroLstmGradientIsWrong(net)) {
            // README "Known limits": DL4J backpropagates wrong gradients through an LSTM in a MaskZeroLayer on padded
            // data; the gradients are those of DL4J's own score (less its regularisation, which the gradients leave
            // out) instead, by central differences
            MultiLayerNetwork mln = (MultiLayerNetwork) net;
            gradients.forEach((key, mine) -> SequenceMaskingTest.assertMatchesCentralDifferences(mine,
                    () -> Networks.dl4jInferenceScore(net, dup(g.inputs()), y) - mln.calcRegularizationScore(true),
                    net.paramTable().get(key), "gradient " + key + " against central differences of DL4J's score"));
            tally(SKIPPED_FOR_DL4J_BUGS, "LSTM in a MaskZeroLayer on padded data: DL4J's gradients are wrong, "
                    + "gradients checked against central differences of its score, fit not compared");
            return;
        }
        long examples = x[0].size(0);
        double largestGradient = 0;
        for (INDArray dl4j : expected.gradientForVariable().values()) {
            if (dl4j.isNaN().any() || dl4j.isInfinite().any()) {
                // activations overflowing (cube, exp): DL4J's gradient is not a number to compare with
                tally(SKIPPED_FOR_DL4J_BUGS, "DL4J's gradient is not finite (overflowing activations)");
                return;
            }
            largestGradient = Math.max(largestGradient, dl4j.amaxNumber().doubleValue() / examples);
        }
        for (Map.Entry<String, INDArray> e : expected.gradientForVariable().entrySet()) {
            if (m.param(e.getKey()).initial().getVariableType() == VariableType.CONSTANT) {
                continue;   // frozen parameters and running statistics: DL4J reports zeros or running-average updates
            }
            INDArray mine = gradients.get(e.getKey());
            assertNotNull(mine, "no gradient for " + e.getKey());
            INDArray dl4j = e.getValue();
            if (dl4j.length() == mine.length() && !java.util.Arrays.equals(dl4j.shape(), mine.shape())) {
                dl4j = dl4j.reshape(mine.shape());      // Convolution1D reports [nOut, nIn, k] for its [nOut, nIn, k, 1] W
            }
            // rounding noise is measured against the network's largest gradient (seed 5811: 1.43e-10 against
            // 1.66e-10 where the largest is orders of magnitude above)
            assertClose(dl4j.div(examples), mine, 1e-4, Math.max(1e-13, 1e-8 * largestGradient),
                    "gradient " + e.getKey());
        }
        GRADIENTS_COMPARED.incrementAndGet();
        // copies: DL4J's gradients are views its updater overwrites at the next fit
        Map<String, INDArray> firstGradient = new java.util.HashMap<>();
        expected.gradientForVariable().forEach((key, value) -> firstGradient.put(key, value.dup()));
        checkFit(g, m, y, firstGradient);
    }

    /**
     * With a random features mask on every time-series input (each example's steps present at the start or at the
     * end): DL4J's masked output, or a refusal that names a layer and leaves the graph unchanged.
     */
    private static void checkMasked(Generated g, MutableNetwork m, INDArray[] x) {
        Random r = new Random(g.seed() * 31 + 7);
        INDArray[] masks = new INDArray[x.length];
        boolean any = false;
        for (int i = 0; i < x.length; i++) {
            long[] shape = m.graph().sameDiff().getVariable(m.inputNames().get(i)).placeholderShape();
            if (shape == null || shape.length != 3 || x[i].rank() != 3) {
                continue;
            }
            // the time axis: the one of the generator's sequence length, else the one the placeholder leaves open
            long length = g.sequenceLength();
            int axis = length > 0 && (x[i].size(1) == length) != (x[i].size(2) == length)
                    ? (x[i].size(1) == length ? 1 : 2) : shape[1] < 0 != shape[2] < 0 ? (shape[1] < 0 ? 1 : 2) : 2;
            int steps = (int) x[i].size(axis);
            boolean alignEnd = r.nextBoolean();
            masks[i] = Nd4j.zeros(x[i].dataType(), x[i].size(0), steps);
            for (int n = 0; n < x[i].size(0); n++) {
                int present = 1 + r.nextInt(steps);
                for (int t = 0; t < present; t++) {
                    masks[i].putScalar(n, alignEnd ? steps - 1 - t : t, 1.0);
                }
            }
            any = true;
        }
        if (!any) {
            return;
        }
        int variables = m.graph().sameDiff().variables().size();
        INDArray[] mine;
        try {
            mine = m.outputs(x, masks, null);
        } catch (UnsupportedLayerException e) {
            assertNamesALayer(e, g.net());
            assertEquals(variables, m.graph().sameDiff().variables().size(), "graph unchanged by a refused mask");
            MASKS_REFUSED.incrementAndGet();
            java.util.regex.Matcher named = Pattern.compile("\\((\\w+)").matcher(e.getMessage());
            tally(REFUSALS, "a mask reaching " + (named.find() ? named.group(1) : refusal(e.getMessage())));
            return;
        }
        // DL4J's masked LastTimeStep collects the last steps in an array of the default type (README "Known limits")
        DataType before = Nd4j.dataType();
        DataType beforeFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(x[0].dataType(), x[0].dataType());
        INDArray[] dl4j;
        try {
            dl4j = g.net() instanceof MultiLayerNetwork
                    ? new INDArray[] {((MultiLayerNetwork) g.net()).output(dup(x)[0], false, masks[0], null)}
                    : ((ComputationGraph) g.net()).output(false, dup(x), masks, null);
        } catch (RuntimeException e) {
            Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
            String why = String.valueOf(e.getMessage());
            tally(SKIPPED_FOR_DL4J_BUGS, "DL4J's masked output throws: "
                    + why.substring(0, Math.min(60, why.length())));
            return;
        } finally {
            Nd4j.setDefaultDataTypes(before, beforeFloat);
            clearMasks(g.net());
        }
        for (int i = 0; i < mine.length; i++) {
            assertClose(dl4j[i], mine[i], 1e-8, "masked output " + i);
        }
        if (m.hasLoss() && dl4jScoreBug(g.net()) == null && !dl4jLossLayerScoreBug(g.net())) {
            INDArray[] y = g.labels();
            INDArray[] labelMasks = labelMasks(g, y, r);
            double score = m.score(new org.nd4j.linalg.dataset.MultiDataSet(x, y, masks, labelMasks));
            Nd4j.setDefaultDataTypes(x[0].dataType(), x[0].dataType());
            double expected;
            try {
                expected = g.net() instanceof MultiLayerNetwork
                        ? ((MultiLayerNetwork) g.net()).score(new org.nd4j.linalg.dataset.DataSet(dup(x)[0], y[0],
                        masks[0], labelMasks[0]))
                        : ((ComputationGraph) g.net()).score(new org.nd4j.linalg.dataset.MultiDataSet(dup(x), y,
                        masks, labelMasks));
            } catch (RuntimeException e) {
                Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
                String why = String.valueOf(e.getMessage());
                tally(SKIPPED_FOR_DL4J_BUGS, "DL4J's masked score throws: " + why.substring(0, Math.min(60,
                        why.length())));
                return;
            } finally {
                Nd4j.setDefaultDataTypes(before, beforeFloat);
                clearMasks(g.net());
            }
            assertEquals(expected, score, 1e-8 * Math.max(1, Math.abs(expected)), "masked score");
        }
        MASKS_COMPARED.incrementAndGet();
    }

    /**
     * Labels masks for the series outputs of a recurrent output layer, drawn: none, one per time step [N, T] (every
     * example keeps at least one step), or, for an NCW layer not scoring a softmax by MCXENT (which DL4J refuses),
     * one per output [N, n, T]; null entries elsewhere.
     */
    private static INDArray[] labelMasks(Generated g, INDArray[] y, Random r) {
        INDArray[] masks = new INDArray[y.length];
        for (int k = 0; k < y.length; k++) {
            Layer layer = outputLayer(g.net(), k);
            RNNFormat format = layer instanceof RnnOutputLayer o ? o.getRnnDataFormat()
                    : layer instanceof RnnLossLayer l ? l.getRnnDataFormat() : null;
            int kind = r.nextInt(3);
            if (format == null || y[k] == null || y[k].rank() != 3 || kind == 0) {
                continue;
            }
            boolean softmaxCrossEntropy = (layer instanceof RnnOutputLayer o ? o.getLossFn()
                    : ((RnnLossLayer) layer).getLossFn()) instanceof LossMCXENT
                    && ((BaseLayer) layer).getActivationFn() instanceof ActivationSoftmax;
            long examples = y[k].size(0);
            long steps = y[k].size(format == RNNFormat.NCW ? 2 : 1);
            if (kind == 2 && format == RNNFormat.NCW && !softmaxCrossEntropy) {
                masks[k] = Nd4j.zeros(y[k].dataType(), y[k].shape());
                for (long n = 0; n < examples; n++) {
                    masks[k].putScalar(new long[] {n, r.nextInt((int) y[k].size(1)), r.nextInt((int) steps)}, 1.0);
                    for (long o = 0; o < y[k].size(1); o++) {
                        for (long t = 0; t < steps; t++) {
                            if (r.nextBoolean()) {
                                masks[k].putScalar(new long[] {n, o, t}, 1.0);
                            }
                        }
                    }
                }
            } else {
                masks[k] = Nd4j.zeros(y[k].dataType(), examples, steps);
                for (long n = 0; n < examples; n++) {
                    masks[k].putScalar(n, r.nextInt((int) steps), 1.0);
                    for (long t = 0; t < steps; t++) {
                        if (r.nextBoolean()) {
                            masks[k].putScalar(n, t, 1.0);
                        }
                    }
                }
            }
            tally(LABEL_MASKS, masks[k].rank() == 3 ? "per output" : "per time step");
        }
        return masks;
    }

    /** The layer of network output {@code k}, or null for a vertex that is no layer. */
    private static Layer outputLayer(Model net, int k) {
        if (net instanceof MultiLayerNetwork mln) {
            return mln.getLayer(mln.getnLayers() - 1).conf().getLayer();
        }
        ComputationGraph cg = (ComputationGraph) net;
        org.deeplearning4j.nn.api.Layer layer = cg.getOutputLayer(k);
        return layer == null ? null : layer.conf().getLayer();
    }

    /**
     * DL4J keeps masks set after a masked output or score; the unmasked checks that follow need them gone. Its
     * {@code clearLayerMaskArrays} leaves them on SameDiff-based vertices ({@code AttentionVertex}), whose later
     * unmasked outputs then use them (README "Known limits"): those are cleared here too.
     */
    private static void clearMasks(Model net) {
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).clearLayerMaskArrays();
        } else {
            ComputationGraph cg = (ComputationGraph) net;
            cg.clearLayerMaskArrays();
            for (org.deeplearning4j.nn.graph.vertex.GraphVertex v : cg.getVertices()) {
                if (v instanceof org.deeplearning4j.nn.layers.samediff.SameDiffGraphVertex) {
                    v.feedForwardMaskArrays(null, org.deeplearning4j.nn.api.MaskState.Active, 0);
                }
            }
        }
    }

    /**
     * Two steps of {@code MutableNetwork.fit} against two of DL4J's own {@code fit}, with the updater, regularisation
     * and gradient normalisation the generator drew: the same parameters, or a refusal that names a setting the
     * converted graph cannot train (dropout, batch normalisation, centre loss).
     */
    private static void checkFit(Generated g, MutableNetwork m, INDArray[] y, Map<String, INDArray> firstGradient) {
        Model net = g.net();
        String bug = dl4jTrainingBug(net);
        if (bug != null) {
            tally(SKIPPED_FOR_DL4J_BUGS, bug);
            return;
        }
        org.nd4j.linalg.dataset.MultiDataSet data = new org.nd4j.linalg.dataset.MultiDataSet(dup(g.inputs()), y);
        try {
            m.fit(data);
        } catch (UnsupportedOperationException e) {
            assertTrue(e.getMessage().contains("cannot train this network as DL4J's fit would"), e.getMessage());
            assertTrue(layers(net).stream().anyMatch(ConversionFuzzTest::fitCannotTrain),
                    "fit refused a network without dropout, batch normalisation or centre loss: " + e.getMessage());
            String reason = e.getMessage().replaceFirst(".*would: ", "").replaceFirst("\\. Remove.*", "");
            tally(REFUSALS, "fit: " + reason.replaceFirst("^(layer \\d+|layer \"[^\"]+\") ", ""));
            return;
        }
        m.fit(new org.nd4j.linalg.dataset.MultiDataSet(dup(g.inputs()), y));
        for (int step = 0; step < 2; step++) {
            INDArray[] in = dup(g.inputs());
            Checks.quietly(() -> {
                if (net instanceof MultiLayerNetwork mln) {
                    mln.fit(new org.nd4j.linalg.dataset.DataSet(in[0], y[0]));
                } else {
                    ((ComputationGraph) net).fit(new org.nd4j.linalg.dataset.MultiDataSet(in, y));
                }
                return null;
            });
        }
        double largestGradient = firstGradient.values().stream().mapToDouble(v -> v.amaxNumber().doubleValue())
                .max().orElse(0);
        Map<String, INDArray> mine = net instanceof MultiLayerNetwork ? m.toMultiLayerNetwork(Map.of()).paramTable()
                : m.toComputationGraph(Map.of()).paramTable();
        net.paramTable().forEach((key, dl4j) -> {
            if (renormalisedNoise(net, key, firstGradient, largestGradient)) {
                // a gradient normalised to unit length from rounding noise points anywhere: steps of the full rate
                tally(SKIPPED_FOR_DL4J_BUGS, "fit of a parameter whose renormalised gradient is rounding noise");
                return;
            }
            INDArray a = mine.get(key);
            if (a.length() == dl4j.length() && !java.util.Arrays.equals(a.shape(), dl4j.shape())) {
                a = a.reshape(dl4j.shape());
            }
            assertFitClose(dl4j, a, firstGradient.get(key), largestGradient, updaterOf(net, key), key);
        });
        FITS_COMPARED.incrementAndGet();
    }

    /**
     * True when {@code key}'s layer renormalises its gradient (per layer or per parameter type) and the gradient so
     * normalised is rounding noise (its norm at most 1e-9 of the network's largest gradient element).
     */
    private static boolean renormalisedNoise(Model net, String key, Map<String, INDArray> gradients,
                                             double largestGradient) {
        String owner = key.substring(0, key.lastIndexOf('_'));
        Layer layer = net instanceof MultiLayerNetwork mln ? mln.getLayer(Integer.parseInt(owner)).conf().getLayer()
                : ((ComputationGraph) net).getLayer(owner).conf().getLayer();
        GradientNormalization n = layer instanceof BaseLayer b ? b.getGradientNormalization() : null;
        double norm;
        if (n == GradientNormalization.RenormalizeL2PerLayer) {
            norm = Math.sqrt(gradients.entrySet().stream().filter(e -> e.getKey().startsWith(owner + "_"))
                    .mapToDouble(e -> Math.pow(e.getValue().norm2Number().doubleValue(), 2)).sum());
        } else if (n == GradientNormalization.RenormalizeL2PerParamType) {
            norm = gradients.get(key) == null ? Double.MAX_VALUE : gradients.get(key).norm2Number().doubleValue();
        } else {
            return false;
        }
        return norm <= 1e-9 * largestGradient;
    }

    /**
     * The parameters after two steps agree to 1e-6 relative (to the element, to 1e-8 of the parameter's largest, or to
     * 1e-6 of the learning rate: two steps of about the rate each may cancel to a value near 0), except where the
     * first gradient is rounding noise (below 1e-9 of the network's largest, as the bias of a softmax over one channel
     * gets): an updater that normalises the gradient (Adam, AdaMax, RMSProp...) turns noise into a step of up to its
     * learning rate, whose sign the rounding decides, so there two steps may differ by four times the rate.
     */
    private static void assertFitClose(INDArray dl4j, INDArray mine, INDArray gradient, double largestGradient,
                                       org.nd4j.linalg.learning.config.IUpdater updater, String key) {
        double[] e = dl4j.dup('c').data().asDouble();
        double[] a = mine.dup('c').data().asDouble();
        double[] grad = gradient == null ? null : gradient.reshape(dl4j.shape()).dup('c').data().asDouble();
        double largest = dl4j.amaxNumber().doubleValue();
        double rate = updater != null && updater.hasLearningRate() ? updater.getLearningRate(0, 0) : 1.0;
        boolean normalising = !(updater instanceof org.nd4j.linalg.learning.config.Sgd
                || updater instanceof org.nd4j.linalg.learning.config.Nesterovs);
        for (int i = 0; i < e.length; i++) {
            boolean noise = normalising && grad != null && Math.abs(grad[i]) <= 1e-9 * largestGradient;
            double allowed = noise ? 4.4 * rate : 1e-6 * Math.max(Math.abs(e[i]), Math.abs(a[i])) + 1e-8 * largest
                    + 1e-6 * rate + 1e-12;
            assertTrue(Math.abs(e[i] - a[i]) <= allowed, "after two fit steps, " + key + ": element " + i
                    + " expected " + e[i] + " but was " + a[i] + (noise ? " (gradient at rounding noise)" : ""));
        }
    }

    private static org.nd4j.linalg.learning.config.IUpdater updaterOf(Model net, String key) {
        for (Layer l : layers(net)) {
            if (l instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b) {
                return b.getIUpdater();
            }
        }
        return null;
    }

    /** A setting {@code MutableNetwork.fit} refuses: DL4J trains it with randomness or by its own rule. */
    private static boolean fitCannotTrain(Layer l) {
        return l.getIDropout() != null || l instanceof org.deeplearning4j.nn.conf.layers.BatchNormalization
                || l instanceof org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer
                || (l instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b && b.getWeightNoise() != null);
    }

    /** Why DL4J's own fit is not the reference for this network (README "Known limits"), or null. */
    private static String dl4jTrainingBug(Model net) {
        boolean regularised = layers(net).stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b
                && !(b.getRegularization().isEmpty() && b.getRegularizationBias().isEmpty()));
        if (regularised && layers(net).stream().anyMatch(l -> l instanceof FrozenLayer)) {
            // seed 77: DL4J does not clear the gradient view of the layers a FrozenLayer cuts off, so from the
            // second step their "gradient" is their previous update (plus the regularisation)
            return "regularised layers below a FrozenLayer: DL4J updates them with their stale gradient view (fit not "
                    + "compared)";
        }
        for (Layer l : layers(net)) {
            boolean perParameter = l instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b
                    && (b.getBiasUpdater() != null || !b.getRegularization().isEmpty()
                    || !b.getRegularizationBias().isEmpty());
            if ((l instanceof org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D
                    || l instanceof org.deeplearning4j.nn.conf.layers.SeparableConvolution2D) && perParameter) {
                return "depthwise or separable convolution with per-parameter settings: DL4J applies them to the "
                        + "wrong elements (fit not compared)";
            }
            if (l instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop f
                    && f.getUnderlying() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b
                    && !(b.getRegularization().isEmpty() && b.getRegularizationBias().isEmpty())) {
                return "FrozenLayerWithBackprop with regularisation: DL4J changes its frozen parameters (fit not "
                        + "compared)";
            }
        }
        return null;
    }

    private static MutableNetwork convert(Generated g, boolean withInputTypes) {
        boolean types = withInputTypes && !g.indexInput();
        if (g.net() instanceof MultiLayerNetwork) {
            MultiLayerNetwork net = (MultiLayerNetwork) g.net();
            if (types) {
                return MutableNetwork.of(net, g.inputTypes()[0]);
            }
            return g.sequenceLength() > 0 ? MutableNetwork.of(net, g.sequenceLength()) : MutableNetwork.of(net);
        }
        ComputationGraph net = (ComputationGraph) g.net();
        if (types) {
            return MutableNetwork.of(net, g.inputTypes());
        }
        return g.sequenceLength() > 0 ? MutableNetwork.of(net, g.sequenceLength()) : MutableNetwork.of(net);
    }

    private static boolean lstmSoftplusOverflowed(Model net, INDArray[] outputs) {
        return java.util.Arrays.stream(outputs).anyMatch(o -> o.isNaN().any())
                && layers(net).stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.LSTM
                && ((org.deeplearning4j.nn.conf.layers.LSTM) l).getActivationFn()
                instanceof org.nd4j.linalg.activations.impl.ActivationSoftPlus);
    }

    /** A network with an output that has more rows than its input has examples (time steps as rows). */
    private static boolean outputsFlattenTimeIntoExamples(Generated g) {
        return java.util.Arrays.stream(g.dl4jOutputs()).anyMatch(o -> o.size(0) != g.inputs()[0].size(0));
    }

    // ---------------------------------------------------------------- DL4J's own bugs (README "Known limits")

    /**
     * The DL4J bug that makes its score (and gradients) wrong or fail for {@code net}, or null. The graph still
     * computes the intended function; only the comparison with DL4J's training pass is left out.
     */
    private static String dl4jScoreBug(Model net) {
        for (Layer l : layers(net)) {
            if (l instanceof CnnLossLayer && ((CnnLossLayer) l).getFormat() == CNN2DFormat.NHWC) {
                return "CnnLossLayer scores NHWC activations as NCHW";
            }
            if (l instanceof RnnLossLayer && ((RnnLossLayer) l).getRnnDataFormat() == RNNFormat.NWC) {
                return "RnnLossLayer's score fails for NWC";
            }
            if (l instanceof Convolution1DLayer && ((Convolution1DLayer) l).getRnnDataFormat() == RNNFormat.NWC
                    || l instanceof Subsampling1DLayer && ((Subsampling1DLayer) l).getCnn2dDataFormat() == CNN2DFormat.NHWC) {
                return "DL4J cannot train an NWC Convolution1DLayer or Subsampling1DLayer";
            }
        }
        for (Layer l : layers(net)) {
            if (l instanceof CnnLossLayer && ((CnnLossLayer) l).getActivationFn() instanceof ActivationSoftmax
                    && ((CnnLossLayer) l).getNOut() <= 1 || l instanceof CnnLossLayer && ((CnnLossLayer) l).getNIn() == 1
                    && ((CnnLossLayer) l).getActivationFn() instanceof ActivationSoftmax) {
                // softmax over one channel is 1 whatever the parameters (true gradient 0); DL4J reports non-zero
                // gradients (it refuses softmax with one output for OutputLayer, not for CnnLossLayer)
                return "CnnLossLayer softmax over a single channel: DL4J's gradient is not zero";
            }
        }
        if (net instanceof ComputationGraph && activationLayerAppliedInPlace((ComputationGraph) net)) {
            return "ComputationGraph.score lets an ActivationLayer or PReLULayer overwrite an input another vertex reads";
        }
        return null;
    }

    /**
     * A LossLayer with an activation other than identity: DL4J's {@code LossLayer.computeGradientAndScore} computes the
     * gradient first, and the activation's backprop ({@code activationFn.backprop(preOut, ...)}) overwrites the layer's
     * input in place, from which {@code computeScore} then reads: its training score is not the network's.
     */
    private static boolean dl4jLossLayerScoreBug(Model net) {
        return layers(net).stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.LossLayer
                && !(((org.deeplearning4j.nn.conf.layers.LossLayer) l).getActivationFn()
                instanceof org.nd4j.linalg.activations.impl.ActivationIdentity));
    }

    /** DL4J's training pass applies dropout and batch statistics: only its inference score is comparable. */
    private static boolean dl4jTrainingDiffersFromInference(Model net) {
        for (Layer l : layers(net)) {
            if (l instanceof DropoutLayer || l instanceof BatchNormalization || l.getIDropout() != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * An LSTM under a softmax RnnLossLayer: DL4J's gradients of the LSTM's parameters differ from central finite
     * differences of DL4J's own score (seeds 252, 352: e.g. 0.062 against 0.322, where the graph's gradient is
     * 0.322), so DL4J's backprop, not the graph, is wrong there.
     */
    private static boolean dl4jRnnLossLayerSoftmaxGradientIsWrong(Model net) {
        List<Layer> all = layers(net);
        return all.stream().anyMatch(l -> l instanceof RnnLossLayer
                && ((RnnLossLayer) l).getActivationFn() instanceof ActivationSoftmax)
                && all.stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.LSTM);
    }

    /**
     * A convolution with a softmax activation on NHWC activations: DL4J's forward pass takes the softmax over the
     * channels, its backprop over another axis, so its gradients are wrong (seed 2765: a bias gradient of 1e-19 where
     * central differences of DL4J's own score give -0.0033, as the graph does).
     */
    private static boolean dl4jNhwcSoftmaxGradientIsWrong(Model net) {
        return layers(net).stream().anyMatch(l -> l instanceof org.deeplearning4j.nn.conf.layers.ConvolutionLayer c
                && c.getCnn2dDataFormat() == CNN2DFormat.NHWC && c.getActivationFn() instanceof ActivationSoftmax);
    }

    /** DL4J's LRN backprop is an approximation (deeplearning4j#7272): its gradients are not the true ones. */
    private static boolean dl4jLrnGradientIsApproximate(Model net) {
        return layers(net).stream().anyMatch(l -> l instanceof LocalResponseNormalization);
    }

    /** An LSTM in a MaskZeroLayer (the fuzzer pads its data): DL4J's gradients through it are wrong. */
    private static boolean dl4jMaskZeroLstmGradientIsWrong(Model net) {
        List<Layer> all = layers(net);
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i) instanceof MaskZeroLayer) {
                List<Layer> wrapped = new ArrayList<>();
                addUnwrapped(((MaskZeroLayer) all.get(i)).getUnderlying(), wrapped);
                if (wrapped.stream().anyMatch(l -> l instanceof LSTM)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A layer or vertex DL4J computes with SameDiff (attention, locally connected, capsules): wrong DL4J gradients. */
    private static boolean dl4jSameDiffBasedGradientIsWrong(Model net) {
        return !sameDiffBasedKinds(net).isEmpty();
    }

    /** The classes of the network's layers and vertices DL4J computes with SameDiff. */
    private static Set<String> sameDiffBasedKinds(Model net) {
        Set<String> kinds = new java.util.TreeSet<>();
        layers(net).stream().filter(l -> l instanceof AbstractSameDiffLayer)
                .forEach(l -> kinds.add(l.getClass().getSimpleName()));
        if (net instanceof ComputationGraph cg) {
            cg.getConfiguration().getVertices().values().stream().filter(v -> v instanceof SameDiffVertex)
                    .forEach(v -> kinds.add(v.getClass().getSimpleName()));
        }
        return kinds;
    }

    /**
     * An ActivationLayer or PReLULayer vertex whose input another vertex also reads (DL4J applies both in place at
     * inference: {@code mgr.leverageTo(ACTIVATIONS, input)}, then the activation writes into it).
     */
    private static boolean activationLayerAppliedInPlace(ComputationGraph net) {
        Map<String, List<String>> inputs = net.getConfiguration().getVertexInputs();
        for (Map.Entry<String, GraphVertex> e : net.getConfiguration().getVertices().entrySet()) {
            if (e.getValue() instanceof LayerVertex
                    && (((LayerVertex) e.getValue()).getLayerConf().getLayer() instanceof ActivationLayer
                    || ((LayerVertex) e.getValue()).getLayerConf().getLayer()
                    instanceof org.deeplearning4j.nn.conf.layers.PReLULayer)) {
                String in = inputs.get(e.getKey()).get(0);
                long readers = inputs.values().stream().filter(l -> l.contains(in)).count();
                if (readers > 1 || net.getConfiguration().getNetworkOutputs().contains(in)) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- helpers

    /** Every layer configuration of {@code net}, wrapped layers included. */
    private static List<Layer> layers(Model net) {
        List<Layer> out = new ArrayList<>();
        if (net instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) net).getLayerWiseConfigurations().getConfs().forEach(c -> addUnwrapped(c.getLayer(), out));
        } else {
            for (GraphVertex v : ((ComputationGraph) net).getConfiguration().getVertices().values()) {
                while (v instanceof FrozenVertex) {
                    v = ((FrozenVertex) v).getUnderlying();
                }
                if (v instanceof LayerVertex) {
                    addUnwrapped(((LayerVertex) v).getLayerConf().getLayer(), out);
                }
            }
        }
        return out;
    }

    private static void addUnwrapped(Layer l, List<Layer> out) {
        out.add(l);
        if (l instanceof FrozenLayer) {
            addUnwrapped(((FrozenLayer) l).getLayer(), out);
        } else if (l instanceof BaseWrapperLayer) {
            addUnwrapped(((BaseWrapperLayer) l).getUnderlying(), out);
        } else if (l instanceof Bidirectional) {
            addUnwrapped(((Bidirectional) l).getFwd(), out);
        }
    }

    private static final Pattern LAYER = Pattern.compile("^Layer (\\d+) \\((\\w+)");
    private static final Pattern VERTEX = Pattern.compile("^Vertex \"([^\"]+)\" \\((\\w+)\\)");

    /** The refusal's message starts by naming the layer or vertex at fault, with its class as the network has it. */
    private static void assertNamesALayer(UnsupportedLayerException e, Model net) {
        String message = e.getMessage();
        assertNotNull(message, "refusal without a message");
        Matcher layer = LAYER.matcher(message);
        Matcher vertex = VERTEX.matcher(message);
        if (net instanceof MultiLayerNetwork && layer.find()) {
            int index = Integer.parseInt(layer.group(1));
            List<Layer> named = new ArrayList<>();
            addUnwrapped(((MultiLayerNetwork) net).getLayerWiseConfigurations().getConf(index).getLayer(), named);
            assertTrue(named.stream().anyMatch(l -> l.getClass().getSimpleName().equals(layer.group(2))),
                    "the refusal names layer " + index + " as " + layer.group(2) + ", which is " + named + ": " + message);
        } else if (net instanceof ComputationGraph && vertex.find()) {
            GraphVertex v = ((ComputationGraph) net).getConfiguration().getVertices().get(vertex.group(1));
            assertNotNull(v, "the refusal names a vertex the graph lacks: " + message);
            Set<String> classes = new java.util.HashSet<>();
            classes.add(v.getClass().getSimpleName());
            while (v instanceof FrozenVertex) {
                v = ((FrozenVertex) v).getUnderlying();
                classes.add(v.getClass().getSimpleName());
            }
            if (v instanceof LayerVertex) {
                List<Layer> named = new ArrayList<>();
                addUnwrapped(((LayerVertex) v).getLayerConf().getLayer(), named);
                named.forEach(l -> classes.add(l.getClass().getSimpleName()));
            }
            assertTrue(classes.contains(vertex.group(2)), "the refusal names vertex " + vertex.group(1) + " as "
                    + vertex.group(2) + ", which is one of " + classes + ": " + message);
        } else if (INPUT.matcher(message).find()) {
            // an input no layer tells the shape of (a merge or a global pooling first): named, with the way out
            Matcher input = INPUT.matcher(message);
            List<String> inputs = net instanceof ComputationGraph
                    ? ((ComputationGraph) net).getConfiguration().getNetworkInputs() : List.of("input");
            assertTrue(input.find() && inputs.contains(input.group(1)), "the refusal names an unknown input: " + message);
            assertTrue(message.contains("InputType"), message);
        } else {
            fail("the refusal does not start by naming a layer, vertex or input: " + message);
        }
    }

    private static final Pattern INPUT = Pattern.compile("network input \"([^\"]+)\"");

    /** The network saved and loaded computes the same outputs (SameDiff cannot read every op back as written). */
    private static void assertSurvivesTheFile(MutableNetwork m, INDArray[] x, INDArray[] outputs) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        MutableNetwork loaded;
        try {
            m.save(file);
            loaded = MutableNetwork.load(new ByteArrayInputStream(file.toByteArray()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        INDArray[] again = loaded.outputs(dup(x));
        for (int i = 0; i < outputs.length; i++) {
            assertClose(outputs[i], again[i], 1e-12, "output " + i + " after saving and loading");
        }
    }

    private static void assertUnchanged(Model net, INDArray params, String conf, Generated g) {
        assertEquals(params, net.params(), "the source network's parameters changed");
        assertEquals(conf, configuration(net), "the source network's configuration changed");
        for (int i = 0; i < g.inputs().length; i++) {
            assertNotNull(g.inputs()[i]);
        }
    }

    /** Every element within {@code relative} of DL4J's, relative to the larger magnitude, or tiny against the largest. */
    private static void assertClose(INDArray expected, INDArray actual, double relative, String what) {
        assertClose(expected, actual, relative, 1e-13, what);
    }

    private static void assertClose(INDArray expected, INDArray actual, double relative, double absolute,
                                    String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] a = actual.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double largest = 0;
        for (double v : e) {
            largest = Math.max(largest, Math.abs(v));
        }
        for (int i = 0; i < e.length; i++) {
            double scale = Math.max(Math.abs(e[i]), Math.abs(a[i]));
            assertTrue(Math.abs(e[i] - a[i]) <= relative * scale + relative * 1e-2 * largest + absolute,
                    what + ": element " + i + " expected " + e[i] + " but was " + a[i] + " (largest |expected| "
                            + largest + ", largest relative difference " + Checks.maxRelativeDifference(expected, actual)
                            + ")");
        }
    }

    private static INDArray[] dup(INDArray[] arrays) {
        INDArray[] out = new INDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = arrays[i].dup();
        }
        return out;
    }

    private static String configuration(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) net).getConfiguration().toJson();
    }

    /** The part of a refusal message that says what is refused, for the summary. */
    private static String refusal(String message) {
        int uses = message.indexOf(" uses ");
        int cannot = message.indexOf("cannot be converted: ");
        String what = uses >= 0 ? message.substring(uses + 6) : cannot >= 0 ? message.substring(cannot + 21) : message;
        int end = what.indexOf(", which cannot");
        what = end >= 0 ? what.substring(0, end) : what;
        return what.length() > 70 ? what.substring(0, 70) : what;
    }

    private static synchronized void tally(Map<String, Integer> counts, String key) {
        counts.merge(key, 1, Integer::sum);
    }

    @AfterAll
    static void report() {
        int converted = CONVERTED.get();
        int refused = REFUSED.get();
        System.out.printf("FUZZ seeds %d..%d: %d cases, %d converted (%d with gradient parity, %d with fit parity, "
                        + "%d with masked output and score parity, %d masks refused), %d refused, %d invalid for DL4J, "
                        + "in %.1f s%n",
                START, START + CASES - 1, CASES, converted, GRADIENTS_COMPARED.get(), FITS_COMPARED.get(),
                MASKS_COMPARED.get(), MASKS_REFUSED.get(), refused, INVALID.get(), (System.nanoTime() - STARTED) / 1e9);
        SKIPPED_FOR_DL4J_BUGS.forEach((k, v) -> System.out.println("FUZZ   comparison left out: " + k + ": " + v));
        REFUSALS.forEach((k, v) -> System.out.println("FUZZ   refused: " + k + ": " + v));
        LABEL_MASKS.forEach((k, v) -> System.out.println("FUZZ   masked score with labels masks " + k + ": " + v));
        SAME_DIFF_BASED.forEach((k, v) -> System.out.println("FUZZ   converted with DL4J's SameDiff-based " + k + ": "
                + v));
        System.out.println("FUZZ   converted with a MaskZeroLayer on data padded with its masking value: "
                + MASK_ZERO_PADDED.get());
        INVALID_REASONS.forEach((k, v) -> System.out.println("FUZZ   invalid for DL4J: " + k.replace('\n', ' ') + ": " + v));
        if (CASES >= 50) {
            // a generator that only ever converts, or only ever fails, would not test what it claims to
            assertTrue(converted > CASES / 4, "too few conversions: " + converted);
            assertTrue(refused > 0, "no refusals");
            assertTrue(FITS_COMPARED.get() > CASES / 10, "too few fits compared: " + FITS_COMPARED.get());
            assertTrue(MASKS_COMPARED.get() > 0 && MASKS_REFUSED.get() > 0, "masks neither compared nor refused");
            assertTrue(CASES < 400 || !SAME_DIFF_BASED.isEmpty(), "none of DL4J's SameDiff-based layers converted");
            assertTrue(CASES < 400 || MASK_ZERO_PADDED.get() > 0, "no MaskZeroLayer on padded data converted");
        }
    }
}
