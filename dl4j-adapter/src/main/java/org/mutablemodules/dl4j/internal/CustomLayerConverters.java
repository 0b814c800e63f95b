package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CapsuleLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleStrengthLayer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.LocallyConnected2D;
import org.deeplearning4j.nn.conf.layers.PrimaryCapsules;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaVertex;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converters of the layers and vertices users write in SameDiff: subclasses of DL4J's {@link SameDiffLayer}
 * ({@code SameDiffLambdaLayer} included), {@link SameDiffOutputLayer} and {@link SameDiffVertex}
 * ({@link SameDiffLambdaVertex} included). Each calls the layer's own {@code defineLayer} / {@code defineVertex} on
 * the converted graph, as DL4J calls it on a graph of its own, with these differences:
 * <ul>
 *   <li>the parameters passed in are the layer's parameters in the converted graph ({@code <vertex>/<key>}, with
 *       DL4J's keys and shapes from {@code defineParameters}), so they become mutable parameters like any layer's;</li>
 *   <li>the input is the previous layer's activations, an expression whose shape is not known before the graph runs
 *       (DL4J passes a placeholder of known shape);</li>
 *   <li>the mask argument is null (an empty map for a vertex), as DL4J's API allows: masks are not supported;</li>
 *   <li>variables the layer creates itself live in the vertex's name scope ({@code layer1/shift}): names it gave
 *       through SameDiff methods that ignore name scopes ({@code sd.constant(name, array)},
 *       {@code sd.var(name, array)}) are moved into it, so two instances of one layer class do not clash; variables
 *       it creates with {@code sd.var} become constants, since DL4J trains only the parameters it declared.</li>
 * </ul>
 * The result is checked: a {@code defineLayer} that throws, returns null, a variable of another graph or of another
 * data type is refused, naming the layer; so is one whose output does not keep the minibatch axis or does not have the
 * shape its {@code getOutputType} declares (for feed-forward inputs), found by a {@link ConversionDryRun} when the
 * input's sizes are known at conversion. The output's rank, which later layers may need, is the dry run's, or else the input's.
 *
 * <p>Only classes outside DL4J's packages are converted here ({@link #isUserWritten}): DL4J's own SameDiff-based
 * layers are refused until each is tested.
 */
final class CustomLayerConverters {

    private CustomLayerConverters() {
    }

    /**
     * SameDiffLayer and SameDiffLambdaLayer subclasses: the layer's own {@code defineLayer(sd, x, params, mask)}.
     * The mask is a series' features mask [N, T] where one reaches the layer (DL4J gives {@code defineLayer} the same,
     * and passes it on unchanged, as {@code SameDiffLayer.feedForwardMaskArray} does). Where none does, a user's layer
     * gets the mask of ones DL4J gives it ({@link #onesMaskForInput}); DL4J's own layers get null, which they read as
     * no padding (the same output, without masked attention's extra work).
     */
    static final LayerConverter<SameDiffLayer> SAME_DIFF_LAYER = (ctx, layer, input) -> {
        Map<String, SDVariable> params = params(ctx, layer.getLayerParams());
        SDVariable x = withStaticShape(ctx, input.value(), InputShapes.forLayer(layer, null));
        long[] shape = x.getShape();
        if (layer instanceof RecurrentAttentionLayer && (shape == null || shape.length != 3 || shape[2] < 0)) {
            throw ctx.cannotConvert("it unrolls over the series' time steps, whose number its defineLayer needs "
                    + "(DL4J defines it for the length of the first input it sees), and the conversion leaves the "
                    + "length open: convert with the length, MutableNetwork.of(net, sequenceLength).", null);
        }
        SDVariable mask = input.mask();
        if (mask != null) {
            requireMaskPassedOn(ctx, layer, input);
        }
        OnesMask ones = mask == null && isUserWritten(layer.getClass()) ? onesMaskForInput(ctx, layer, x, input)
                : null;
        SDVariable given = ones != null ? ones.mask() : mask;
        SDVariable out = define(ctx, layer, "defineLayer", () -> layer.defineLayer(ctx.sd(), x, params, given));
        if (ones != null) {
            ones.removeIfUnused(ctx.sd());
        }
        LayerOutput output = checked(ctx, layer, List.of(input), out,
                types -> layer.getOutputType(ctx.layerIndex(), types[0]));
        if (mask == null) {
            return output;
        }
        requireSameSteps(ctx, output, mask);
        return output.withMask(mask);
    };

    /**
     * The ones a mask-reading layer gets where the data have no mask, as DL4J's {@code SameDiffLayer} gives
     * {@code defineLayer} {@code onesMaskForInput(input)} then: [N, 1] for rows [N, n], [N, T] for a series [N, n, T],
     * [N, 1, 1, 1] for images and [N, 1, 1, 1, 1] for volumes; null for other ranks, where DL4J's own default fails.
     * A layer that overrides {@code onesMaskForInput} is probed at conversion on zeros of its input's shape, and
     * refused by name if its masks are not those ones.
     */
    private static OnesMask onesMaskForInput(ConversionContext ctx, SameDiffLayer layer, SDVariable x,
                                             LayerOutput input) {
        int rank = input.rank();
        if (rank < 2 || rank > 5) {
            return null;
        }
        if (overrides(layer.getClass(), "onesMaskForInput", INDArray.class)) {
            requireDefaultOnes(ctx, layer, x, rank);
        }
        return OnesMask.of(ctx.sd(), input.value(), rank);
    }

    /**
     * Refuses a layer whose own {@code onesMaskForInput} gives other masks than DL4J's default for an input of the
     * shape the conversion found (open sizes probed at 2).
     */
    private static void requireDefaultOnes(ConversionContext ctx, SameDiffLayer layer, SDVariable x, int rank) {
        long[] shape = x.getShape();
        String own = "its own onesMaskForInput (" + layer.getClass().getName() + ")";
        if (shape == null || shape.length != rank) {
            throw ctx.cannotConvert(own + " decides the mask defineLayer gets where the data have none, and the "
                    + "shape of the layer's input is not known at conversion to probe it.", null);
        }
        long[] probe = Arrays.stream(shape).map(size -> size > 0 ? size : 2).toArray();
        INDArray given;
        try {
            given = layer.onesMaskForInput(Nd4j.zeros(x.dataType(), probe));
        } catch (RuntimeException e) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s threw %s for an input of shape %s: %s (the cause "
                    + "is attached).", own, e.getClass().getSimpleName(), Arrays.toString(probe), e.getMessage()), e);
        }
        long[] expected = rank == 3 ? new long[] {probe[0], probe[2]} : new long[rank];
        if (rank != 3) {
            Arrays.fill(expected, 1);
            expected[0] = probe[0];
        }
        if (given == null || !Arrays.equals(given.shape(), expected) || given.minNumber().doubleValue() != 1
                || given.maxNumber().doubleValue() != 1) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s gives %s for an input of shape %s, where the "
                    + "converted graph gives DL4J's default, ones of shape %s.", own, given == null ? "null"
                    : "a mask of shape " + Arrays.toString(given.shape()), Arrays.toString(probe),
                    Arrays.toString(expected)), null);
        }
    }

    /** Whether {@code type} declares its own {@code method} rather than DL4J's SameDiff base classes. */
    private static boolean overrides(Class<?> type, String method, Class<?>... parameters) {
        try {
            return isUserWritten(type.getMethod(method, parameters).getDeclaringClass());
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("DL4J's SameDiff layers have " + method, e);
        }
    }

    /**
     * A mask of ones in the graph, computed from the input's shape at run time, and the ops that make it: removed
     * again when the layer does not read its mask (most do not), so the graph holds no computation nobody uses.
     */
    private record OnesMask(SDVariable mask, List<String> ops, List<String> variables) {

        /** Ones [N, T] of a series [N, n, T]; ones [N, 1, ...] of the input's rank otherwise. */
        static OnesMask of(SameDiff sd, SDVariable input, int rank) {
            Set<String> opsBefore = new HashSet<>(sd.getOps().keySet());
            Set<String> variablesBefore = new HashSet<>(sd.getVariables().keySet());
            SDVariable mask = rank == 3 ? sd.onesLike(input.sum(false, 1))
                    : sd.onesLike(input.sum(true, IntStream.range(1, rank).toArray()));
            List<String> ops = new ArrayList<>(sd.getOps().keySet());
            ops.removeAll(opsBefore);
            List<String> variables = new ArrayList<>(sd.getVariables().keySet());
            variables.removeAll(variablesBefore);
            return new OnesMask(mask, ops, variables);
        }

        void removeIfUnused(SameDiff sd) {
            List<String> consumers = sd.getVariables().get(mask.name()).getInputsForOp();
            if (consumers == null || consumers.isEmpty()) {
                ops.forEach(op -> GraphEdits.removeOp(sd, op));
                variables.forEach(v -> GraphEdits.removeVariable(sd, v));
            }
        }
    }

    /**
     * Refuses a masked layer whose mask after it DL4J takes from Java code: a user's own
     * {@code feedForwardMaskArray} (SameDiffLayer's passes the mask on unchanged), or an input that is no series.
     */
    private static void requireMaskPassedOn(ConversionContext ctx, SameDiffLayer layer, LayerOutput input) {
        if (input.rank() != 3) {
            throw SequenceMasks.refused(ctx, "its input of rank " + input.rank() + " is no series");
        }
        Class<?> declaring;
        try {
            declaring = layer.getClass().getMethod("feedForwardMaskArray", INDArray.class, MaskState.class,
                    int.class).getDeclaringClass();
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("DL4J's Layer has feedForwardMaskArray(INDArray, MaskState, int)", e);
        }
        if (declaring != SameDiffLayer.class) {
            throw SequenceMasks.refused(ctx, "the mask after it comes from its feedForwardMaskArray in "
                    + declaring.getName() + ", Java code the converted graph cannot run");
        }
    }

    /**
     * Refuses a layer that DL4J passes the mask on unchanged after, but that changes the number of time steps (the
     * mask would no longer line up with the series), or whose output is no series, as far as a dry run can tell.
     */
    private static void requireSameSteps(ConversionContext ctx, LayerOutput output, SDVariable mask) {
        if (output.rank() != 3) {
            throw SequenceMasks.refused(ctx, "its output of rank " + output.rank() + " is no series, and DL4J passes "
                    + "the mask on to the layers after it");
        }
        Map<String, long[]> shapes;
        try {
            shapes = ConversionDryRun.shapesAtLength(ctx.sd(), List.of(output.value().name(), mask.name()),
                    ctx.sequenceLength());
        } catch (RuntimeException e) {
            shapes = null;
        }
        if (shapes == null) {
            throw SequenceMasks.refused(ctx, "whether it keeps the number of time steps (DL4J passes the mask on "
                    + "unchanged) cannot be told at conversion");
        }
        long steps = shapes.get(output.value().name())[2];
        long masked = shapes.get(mask.name())[1];
        if (steps != masked) {
            throw SequenceMasks.refused(ctx, "DL4J passes the mask on unchanged although the layer changes the "
                    + "number of time steps (" + masked + " to " + steps + "), so the mask no longer lines up with "
                    + "the series");
        }
    }

    /**
     * The input as a SameDiff-based layer's {@code defineLayer} sees it in DL4J, which defines the layer on a
     * placeholder of the input's shape (minibatch open): some layers read that shape ({@code RecurrentAttentionLayer}
     * unrolls over its time steps, {@code LocallyConnected2D} reshapes by it, users' layers size things by it). An
     * input computed by earlier layers has no shape in SameDiff before it runs, so it comes as a variable of the same
     * name whose {@code getShape()} gives the sizes a dry run finds (the minibatch, and any size that follows an open
     * sequence length, -1), or where none can tell (an image's height and width known only at run time), the sizes
     * the layer's configuration declares ({@code declared}, null for none). Unchanged when it is a placeholder (its
     * shape is declared) or nothing is known.
     */
    private static SDVariable withStaticShape(ConversionContext ctx, SDVariable input, long[] declared) {
        if (input.getVariableType() == VariableType.PLACEHOLDER) {
            return input;
        }
        SameDiff sd = ctx.sd();
        long[] found = null;
        // converted for one sequence length: the sizes at that length (an input of indices, as an
        // EmbeddingSequenceLayer's, keeps its placeholder's length open), else those that stay at two lengths
        int length = ctx.sequenceLength();
        try {
            Map<String, long[]> one = ConversionDryRun.shapesAtLength(sd, List.of(input.name()),
                    length > 0 ? length : 3);
            Map<String, long[]> other = one == null || length > 0 ? one : ConversionDryRun.shapesAtLength(sd,
                    List.of(input.name()), 4);
            if (other != null) {
                found = one.get(input.name()).clone();
                long[] atOtherLength = other.get(input.name());
                for (int i = 1; i < found.length; i++) {
                    found[i] = found[i] == atOtherLength[i] ? found[i] : -1;
                }
            }
        } catch (RuntimeException e) {
            found = null;       // the layers before cannot run on zeros: their own checks say why
        }
        int rank = found != null ? found.length : declared != null ? declared.length : 0;
        if (rank == 0 || declared != null && declared.length != rank) {
            return input;
        }
        long[] shape = new long[rank];
        boolean known = false;
        shape[0] = -1;
        for (int i = 1; i < rank; i++) {
            long size = found != null && found[i] > 0 ? found[i] : declared != null && declared[i] > 0 ? declared[i]
                    : -1;
            shape[i] = size;
            known |= size > 0;
        }
        if (!known) {
            return input;
        }
        return new SDVariable(input.name(), input.getVariableType(), sd, shape, input.dataType()) {
            @Override
            public long[] getShape() {
                return shape.clone();
            }
        };
    }

    /**
     * DL4J's {@code LearnedSelfAttentionLayer}: its {@code defineLayer} with the learned queries [1, nIn, nQueries]
     * broadcast over the minibatch by a product with ones, where DL4J tiles them by a {@code scatter_update} on the
     * input's shape, which libnd4j 1.0.0-M2.1 rejects (DL4J's own {@code output} fails). Then, as DL4J: multi-head
     * attention of the queries over the input (projected), or dot-product attention without projection.
     */
    static final LayerConverter<LearnedSelfAttentionLayer> LEARNED_SELF_ATTENTION = (ctx, layer, input) -> {
        Map<String, SDVariable> params = params(ctx, layer.getLayerParams());
        // a features mask masks the keys, as in DL4J, whose feedForwardMaskArray then drops it (the queries are
        // the layer's own)
        SDVariable mask = input.mask();
        if (mask != null && input.rank() != 3) {
            throw SequenceMasks.refused(ctx, "its input of rank " + input.rank() + " is no series");
        }
        SDVariable out = define(ctx, layer, "defineLayer", () -> {
            SameDiff sd = ctx.sd();
            SDVariable x = input.value();
            SDVariable ones = sd.onesLike(x.sum(true, 1, 2));                  // [N, 1, 1]
            SDVariable queries = ones.mul(params.get("Q"));                    // [N, nIn, nQueries]
            if (layer.isProjectInput()) {
                return sd.nn.multiHeadDotProductAttention(layer.getLayerName(), queries, x, x, params.get("Wq"),
                        params.get("Wk"), params.get("Wv"), params.get("Wo"), mask, true);
            }
            return sd.nn.dotProductAttention(layer.getLayerName(), queries, x, x, mask, true);
        });
        return checked(ctx, layer, List.of(input), out, types -> layer.getOutputType(ctx.layerIndex(), types[0]));
    };

    /**
     * SameDiffOutputLayer subclasses: the layer's own {@code defineLayer(sd, x, labels, params)}, which returns the
     * loss; the activations are its variable called {@code activationsVertexName()} (or the input, if that is
     * {@code "input"}). As in DL4J, the score is that loss divided by the minibatch size N, and the labels are
     * {@code null} when {@code labelsRequired()} is false. In a hidden position the layer gets labels of its own
     * ({@code <vertex>/labels}), which its activations should not need.
     *
     * <p>ND4J's loss functions ({@code sd.loss()}) ignore the gradient that reaches them in backprop (1.0.0-M2.1's
     * loss ops are differentiated as if they were the final loss), so dividing the returned loss by N would not
     * divide its gradient. Instead the division is applied to the gradients that enter the layer: its input and
     * parameters reach {@code defineLayer} through an op whose value is the identity and whose gradient is 1/N
     * ({@link #scaleGradient}), and the score is {@code loss / N} in value with the gradient of {@code loss}. Both
     * loss functions and losses built from plain ops then get the gradient of the score.
     */
    static final LayerConverter<SameDiffOutputLayer> SAME_DIFF_OUTPUT_LAYER = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        Map<String, SDVariable> params = params(ctx, layer.getLayerParams());
        SDVariable x = input.value();
        SDVariable examples = null;
        if (ctx.hasLabels()) {
            if (ctx.feedsOtherVertices()) {
                throw ctx.cannotConvert(layer.getClass().getName() + " is scored against labels and its "
                        + "activations feed other vertices too, which is not supported for SameDiffOutputLayers: "
                        + "feed the other vertices from the layer's input instead.", null);
            }
            examples = sd.sum(ctx.dimension(x, 0).castTo(ctx.dataType()));
            SDVariable perExample = examples.rdiv(1.0);
            x = scaleGradient(sd, x, perExample);
            params.replaceAll((key, p) -> scaleGradient(sd, p, perExample));
        }
        long[] unknown = new long[input.rank()];
        Arrays.fill(unknown, -1);
        SDVariable labels = ctx.hasLabels() ? ctx.labelsPlaceholder(unknown)
                : sd.placeHolder(sd.currentNameScope() + "/labels", ctx.dataType(), unknown);  // <vertex>/labels
        SDVariable given = layer.labelsRequired() ? labels : null;
        SDVariable in = x;
        SDVariable loss = define(ctx, layer, "defineLayer", () -> layer.defineLayer(sd, in, given, params));
        SDVariable activations = activationsOf(ctx, layer, input, loss);
        LayerOutput out = checked(ctx, layer, List.of(input), activations,
                types -> layer.getOutputType(ctx.layerIndex(), types[0]));
        if (ctx.hasLabels()) {
            requireScalarLoss(ctx, layer, loss, activations, labels);
            SDVariable score = loss.add(stopGradient(sd, loss.div(examples).sub(loss)));
            ctx.defineOwnLoss(score, labels);
        }
        return out;
    };

    /**
     * SameDiffVertex and SameDiffLambdaVertex subclasses: the vertex's own {@code defineVertex(sd, inputs, params,
     * masks)}, its inputs named as {@code defineParametersAndInputs} declares them. A lambda vertex is called on a
     * fresh copy ({@code clone()}), because it caches the inputs of the first graph it is defined on.
     */
    static final VertexConverter<SameDiffVertex> SAME_DIFF_VERTEX = (ctx, vertex, inputs) -> {
        SameDiffVertex own = vertex instanceof SameDiffLambdaVertex ? freshCopy(ctx, (SameDiffLambdaVertex) vertex)
                : vertex;
        // The copy's: a lambda vertex read from a configuration (not from an initialised network) defines its
        // parameters and inputs on first use, which needs the data type the copy has.
        List<String> names = own.getVertexParams().getInputs();
        if (names == null || names.size() != inputs.size()) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s declares the inputs %s in "
                            + "defineParametersAndInputs, but the vertex has %d input(s).",
                    vertex.getClass().getName(), names, inputs.size()), null);
        }
        Map<String, SDVariable> in = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            in.put(names.get(i), withStaticShape(ctx, inputs.get(i).value(), null));
        }
        Map<String, SDVariable> params = params(ctx, own.getVertexParams());
        List<OnesMask> ones = new ArrayList<>();
        Map<String, SDVariable> masks = inputs.stream().anyMatch(i -> i.mask() != null)
                ? attentionMasks(ctx, own, names, inputs) : maskless(ctx, own, names, inputs, ones);
        SDVariable out = define(ctx, vertex, "defineVertex", () -> own.defineVertex(ctx.sd(), in, params, masks));
        ones.forEach(o -> o.removeIfUnused(ctx.sd()));
        LayerOutput output = checked(ctx, vertex, inputs, out, types -> vertex.getOutputType(ctx.layerIndex(), types));
        // DL4J's AttentionVertex.feedForwardMaskArrays: the queries' mask, if they have one
        return inputs.get(0).mask() == null ? output : output.withMask(inputs.get(0).mask());
    };

    /**
     * The masks DL4J gives {@code AttentionVertex.defineVertex} when an input is masked: each input's mask, or a mask
     * of ones for a series without one (as DL4J's {@code SameDiffGraphVertex.createMask}). Other vertices with masks
     * are refused: DL4J's own {@code SameDiffVertex.feedForwardMaskArrays} fails with "Not yet supported".
     */
    private static Map<String, SDVariable> attentionMasks(ConversionContext ctx, SameDiffVertex vertex,
                                                          List<String> names, List<LayerOutput> inputs) {
        if (!(vertex instanceof AttentionVertex)) {
            throw SequenceMasks.refused(ctx, "DL4J's SameDiffVertex cannot pass masks on (its feedForwardMaskArrays "
                    + "fails: \"Not yet supported\")");
        }
        Map<String, SDVariable> masks = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            LayerOutput in = inputs.get(i);
            if (in.rank() != 3) {
                throw SequenceMasks.refused(ctx, "its input \"" + names.get(i) + "\" of rank " + in.rank()
                        + " is no series");
            }
            // ones [N, T] of an NCW series [N, n, T]
            masks.put(names.get(i), in.mask() != null ? in.mask()
                    : ctx.sd().onesLike(in.value().sum(false, 1)));
        }
        return masks;
    }

    /**
     * True for a class outside DL4J's network packages ({@code org.deeplearning4j.nn}): a user's own layer or vertex
     * (DL4J's examples, in {@code org.deeplearning4j.examples}, count as users').
     */
    static boolean isUserWritten(Class<?> type) {
        return !type.getName().startsWith("org.deeplearning4j.nn.");
    }

    /** The refusal of a user's layer written in Java, which no converter can translate. */
    static String javaLayerProblem(Class<?> type) {
        return "it is the custom layer " + type.getName() + ", written in Java: DL4J runs it through the activate "
                + "and backpropGradient methods of the layer its instantiate(...) creates, and Java code cannot be "
                + "translated into SameDiff operations. Write it as a subclass of SameDiffLayer (or "
                + "SameDiffLambdaLayer; SameDiffOutputLayer for an output layer), its computation in defineLayer, "
                + "and it converts, parameters included.";
    }

    /** The refusal of a user's graph vertex written in Java. */
    static String javaVertexProblem(Class<?> type) {
        return "it is the custom vertex " + type.getName() + ", written in Java: DL4J runs it through the doForward "
                + "and doBackward methods of the vertex its instantiate(...) creates, and Java code cannot be "
                + "translated into SameDiff operations. Write it as a subclass of SameDiffVertex (or "
                + "SameDiffLambdaVertex), its computation in defineVertex, and it converts, parameters included.";
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * The output ranks of DL4J's own SameDiff-based layers and vertex, for when no dry run can tell (the input's
     * sizes are not known at conversion): a capsule layer turns images into [N, capsules, dimensions].
     */
    private static final Map<Class<?>, Integer> OWN_LAYER_RANKS = Map.of(
            SelfAttentionLayer.class, 3, LearnedSelfAttentionLayer.class, 3, RecurrentAttentionLayer.class, 3,
            LocallyConnected1D.class, 3, LocallyConnected2D.class, 4, PrimaryCapsules.class, 3,
            CapsuleLayer.class, 3, CapsuleStrengthLayer.class, 2, AttentionVertex.class, 3);

    /**
     * The masks passed to a vertex's {@code defineVertex} where the data have none. A user's vertex gets what DL4J's
     * {@code SameDiffGraphVertex} gives it, ones for each input of rank 2 to 4 ({@code createMask}: [N, 1], [N, T],
     * [N, 1, 1, 1]), each removed again if the vertex does not read it; DL4J's {@code AttentionVertex} gets null, no
     * padding.
     */
    private static Map<String, SDVariable> maskless(ConversionContext ctx, SameDiffVertex vertex,
                                                    List<String> names, List<LayerOutput> inputs,
                                                    List<OnesMask> made) {
        if (vertex instanceof AttentionVertex) {
            return null;
        }
        Map<String, SDVariable> masks = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            int rank = inputs.get(i).rank();
            if (rank >= 2 && rank <= 4) {
                OnesMask ones = OnesMask.of(ctx.sd(), inputs.get(i).value(), rank);
                made.add(ones);
                masks.put(names.get(i), ones.mask());
            }
        }
        return masks;
    }

    /** The declared parameters, in DL4J's order (weights, then biases), each a parameter of the converted graph. */
    private static Map<String, SDVariable> params(ConversionContext ctx, SDLayerParams declared) {
        Map<String, SDVariable> params = new LinkedHashMap<>();
        for (String key : declared.getParameterKeys()) {
            params.put(key, ctx.param(key));
        }
        return params;
    }

    /**
     * Runs the user's {@code define...} call and tidies what it created: names into the vertex's scope, its own
     * {@code VARIABLE}s into constants, the graph's loss variables as they were (SameDiff's loss functions mark
     * their result as a loss).
     */
    private static SDVariable define(ConversionContext ctx, Object config, String method, Supplier<SDVariable> body) {
        SameDiff sd = ctx.sd();
        Set<String> before = new HashSet<>(sd.getVariables().keySet());
        List<String> losses = new ArrayList<>(sd.getLossVariables());
        SDVariable out;
        try {
            out = body.get();
        } catch (RuntimeException e) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "its %s(...) (%s) threw %s: %s (the cause is "
                    + "attached).", method, config.getClass().getName(), e.getClass().getSimpleName(),
                    e.getMessage()), e);
        }
        if (out == null) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "its %s(...) (%s) returned null: it must return the "
                    + "%s.", method, config.getClass().getName(),
                    config instanceof SameDiffOutputLayer ? "loss" : "output"), null);
        }
        sd.setLossVariables(losses.toArray(new String[0]));
        String scope = sd.currentNameScope();
        List<String> created = new ArrayList<>(sd.getVariables().keySet());
        created.removeAll(before);
        for (String name : created) {
            SDVariable v = sd.getVariable(name);
            if (scope != null && !name.startsWith(scope + "/")) {
                sd.renameVariable(name, unique(sd, scope + "/" + name));
            }
            if (v.getVariableType() == VariableType.VARIABLE) {
                sd.convertToConstant(v);
            }
        }
        return out;
    }

    /**
     * Checks the output of a custom layer or vertex and gives it its rank: the rank a dry run finds, or else the
     * first input's (the usual case: most layers keep their input's rank).
     *
     * @param outputType the layer's {@code getOutputType} for feed-forward input types
     */
    private static LayerOutput checked(ConversionContext ctx, Object config, List<LayerOutput> inputs, SDVariable out,
                                       Function<InputType[], InputType> outputType) {
        String type = config.getClass().getName();
        if (out.getSameDiff() != ctx.sd()) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned \"%s\", a variable of another SameDiff "
                    + "instance: build the output in the SameDiff instance its define method is given.", type,
                    out.name()), null);
        }
        if (out.dataType() != ctx.dataType()) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned \"%s\" of data type %s; the network's "
                    + "activations are %s.", type, out.name(), out.dataType(), ctx.dataType()), null);
        }
        List<String> names = new ArrayList<>();
        inputs.forEach(a -> names.add(a.value().name()));
        int fallbackRank = OWN_LAYER_RANKS.getOrDefault(config.getClass(), inputs.get(0).rank());
        List<String> masks = inputs.stream().map(LayerOutput::mask).filter(Objects::nonNull).map(SDVariable::name)
                .toList();
        // with masks (which the output reads), every series and mask as long as the masked replay's
        Map<String, INDArray> zeros = masks.isEmpty() ? ConversionDryRun.placeholders(ctx.sd(), names)
                : ConversionDryRun.placeholdersAtLength(ctx.sd(), Stream.concat(names.stream(), masks.stream())
                .toList(), ctx.sequenceLength());
        if (zeros == null) {
            return new LayerOutput(out, fallbackRank);
        }
        Map<String, long[]> inputShapes;
        try {
            inputShapes = ConversionDryRun.shapes(ctx.sd(), zeros, names);
        } catch (RuntimeException e) {
            return new LayerOutput(out, fallbackRank);   // the layers before cannot run on zeros
        }
        long[] shape;
        try {
            shape = ConversionDryRun.shapes(ctx.sd(), zeros, List.of(out.name())).get(out.name());
        } catch (RuntimeException e) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "the graph %s defines fails on input(s) of shape %s "
                    + "(a dry run on zeros): %s", type, shapes(inputShapes), e.getMessage()), e);
        }
        if (shape.length == 0 || shape[0] != ConversionDryRun.MINIBATCH) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned an output of shape %s for input(s) of "
                    + "shape %s (a dry run on zeros): its first axis must stay the minibatch axis.", type,
                    Arrays.toString(shape), shapes(inputShapes)), null);
        }
        long[] expected = declaredShape(inputShapes, outputType);
        if (expected != null && !matches(expected, shape)) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned an output of shape %s for input(s) of "
                    + "shape %s (a dry run on zeros), but its getOutputType declares %s (-1: any size).", type,
                    Arrays.toString(shape), shapes(inputShapes), Arrays.toString(expected)), null);
        }
        return new LayerOutput(out, shape.length);
    }

    /** The shape {@code getOutputType} declares for feed-forward inputs, or null (other inputs, or no declaration). */
    private static long[] declaredShape(Map<String, long[]> inputShapes, Function<InputType[], InputType> outputType) {
        List<InputType> types = new ArrayList<>();
        for (long[] s : inputShapes.values()) {
            if (s.length != 2) {
                return null;    // time series and images: the input type's data format cannot be told from a shape
            }
            types.add(InputType.feedForward(s[1]));
        }
        try {
            InputType declared = outputType.apply(types.toArray(new InputType[0]));
            return declared == null ? null : declared.getShape(true);
        } catch (RuntimeException e) {
            return null;    // not implemented (the default of lambda layers and vertices)
        }
    }

    private static boolean matches(long[] expected, long[] actual) {
        if (expected.length != actual.length) {
            return false;
        }
        for (int i = 1; i < expected.length; i++) {
            if (expected[i] >= 0 && expected[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    /** The output layer's activations: the variable it names, looked up in the vertex's scope. */
    private static SDVariable activationsOf(ConversionContext ctx, SameDiffOutputLayer layer, LayerOutput input,
                                            SDVariable loss) {
        String name = layer.activationsVertexName();
        if (org.deeplearning4j.nn.layers.samediff.SameDiffOutputLayer.INPUT_KEY.equals(name)) {
            return input.value();
        }
        SameDiff sd = ctx.sd();
        String scope = sd.currentNameScope();
        String scoped = scope == null ? name : scope + "/" + name;
        if (name == null || !sd.hasVariable(scoped)) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s names its activations \"%s\" "
                    + "(activationsVertexName()), but its defineLayer created no variable of that name (it returned "
                    + "\"%s\").", layer.getClass().getName(), name, loss.name()), null);
        }
        return sd.getVariable(scoped);
    }

    /** DL4J reads the first element of the loss as the score: anything but a single number is refused. */
    private static void requireScalarLoss(ConversionContext ctx, SameDiffOutputLayer layer, SDVariable loss,
                                          SDVariable activations, SDVariable labels) {
        if (loss.getSameDiff() != ctx.sd() || !loss.dataType().isFPType()) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned \"%s\" as its loss: it must be a "
                    + "floating-point scalar of the graph defineLayer is given.", layer.getClass().getName(),
                    loss.name()), null);
        }
        Map<String, INDArray> zeros = ConversionDryRun.placeholders(ctx.sd(), List.of(activations.name()));
        if (zeros == null) {
            return;
        }
        long[] lossShape;
        try {
            long[] shape = ConversionDryRun.shapes(ctx.sd(), zeros, List.of(activations.name()))
                    .get(activations.name());
            zeros.put(labels.name(), Nd4j.zeros(labels.dataType(), shape));
            lossShape = ConversionDryRun.shapes(ctx.sd(), zeros, List.of(loss.name())).get(loss.name());
        } catch (RuntimeException e) {
            return;     // labels shaped like the activations do not suit this loss: it is checked when the graph runs
        }
        if (lengthOf(lossShape) != 1) {
            throw ctx.cannotConvert(String.format(Locale.ROOT, "%s returned a loss of shape %s (a dry run on zeros): "
                    + "DL4J takes its first element as the score; return the loss summed over the examples, a "
                    + "scalar.", layer.getClass().getName(), Arrays.toString(lossShape)), null);
        }
    }

    /** {@code x} in value; in backprop, the gradient reaching it times {@code factor}. */
    private static SDVariable scaleGradient(SameDiff sd, SDVariable x, SDVariable factor) {
        return x.mul(factor).add(stopGradient(sd, x.mul(factor.rsub(1.0))));
    }

    /** {@code x} in value, with no gradient. */
    private static SDVariable stopGradient(SameDiff sd, SDVariable x) {
        return new StopGradient(sd, x).outputVariable();
    }

    private static SameDiffLambdaVertex freshCopy(ConversionContext ctx, SameDiffLambdaVertex vertex) {
        try {
            SameDiffLambdaVertex copy = (SameDiffLambdaVertex) vertex.clone();
            copy.setDataType(ctx.dataType());
            return copy;
        } catch (RuntimeException e) {
            throw ctx.cannotConvert(vertex.getClass().getName() + " could not be copied (clone(), which needs a "
                    + "public no-argument constructor): " + e.getMessage(), e);
        }
    }

    private static String unique(SameDiff sd, String base) {
        String name = base;
        for (int i = 1; sd.hasVariable(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }

    private static long lengthOf(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static String shapes(Map<String, long[]> shapes) {
        List<String> all = new ArrayList<>();
        shapes.values().forEach(s -> all.add(Arrays.toString(s)));
        return String.join(", ", all);
    }
}
