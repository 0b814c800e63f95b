package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Converters of DL4J's graph vertices. Slicing uses {@code slice} (whose gradient passes the finite-difference
 * check) rather than {@code strided_slice}, whose gradient is wrong in some cases; sizes known only at run time are -1
 * or read from the activations' shape.
 */
final class GraphVertexConverters {

    private GraphVertexConverters() {
    }

    /** LayerVertex: the layer's input pre-processor, then the layer itself. */
    static final VertexConverter<LayerVertex> LAYER = (ctx, vertex, inputs) -> {
        Layer layer = vertex.getLayerConf().getLayer();
        ConversionContext layerCtx = ctx.forLayer(layer);
        LayerOutput in = single(layerCtx, inputs);
        if (vertex.getPreProcessor() != null) {
            in = Preprocessors.apply(layerCtx, vertex.getPreProcessor(), in);
        }
        return LayerConverters.convert(layerCtx, layer, in);
    };

    /** FrozenVertex: the wrapped vertex, its parameters' initial values frozen as in a FrozenLayer. */
    static final VertexConverter<FrozenVertex> FROZEN = (ctx, vertex, inputs) ->
            VertexConverters.convert(ctx.wrapped("", true), vertex.getUnderlying(), inputs);

    /** MergeVertex: the inputs concatenated along the merge axis (1: features or channels, 3 for NHWC). */
    static final VertexConverter<MergeVertex> MERGE = (ctx, vertex, inputs) -> {
        if (inputs.size() == 1) {
            return inputs.get(0);
        }
        return new LayerOutput(ctx.sd().concat(vertex.getMergeAxis(), values(inputs)), inputs.get(0).rank());
    };

    /** ElementWiseVertex: add, subtract (two inputs), product, average or maximum, broadcasting as DL4J does. */
    static final VertexConverter<ElementWiseVertex> ELEMENT_WISE = (ctx, vertex, inputs) -> {
        SameDiff sd = ctx.sd();
        SDVariable[] x = values(inputs);
        int rank = inputs.stream().mapToInt(LayerOutput::rank).max().orElseThrow();
        SDVariable out = x[0];
        switch (vertex.getOp()) {
            case Add:
            case Average:
                for (int i = 1; i < x.length; i++) {
                    out = out.add(x[i]);
                }
                if (vertex.getOp() == ElementWiseVertex.Op.Average && x.length > 1) {
                    out = out.div(x.length);
                }
                break;
            case Subtract:
                if (x.length != 2) {
                    throw ctx.unsupported("subtraction of " + x.length + " inputs", List.of("exactly 2 inputs"));
                }
                out = x[0].sub(x[1]);
                break;
            case Product:
                for (int i = 1; i < x.length; i++) {
                    out = out.mul(x[i]);
                }
                break;
            case Max:
                for (int i = 1; i < x.length; i++) {
                    out = sd.max(out, x[i]);
                }
                break;
            default:
                throw ctx.unsupported("the element-wise operation " + vertex.getOp(),
                        List.of("Add", "Subtract", "Product", "Average", "Max"));
        }
        return new LayerOutput(out, rank);
    };

    /** ScaleVertex: {@code x * scaleFactor}. */
    static final VertexConverter<ScaleVertex> SCALE = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        return in.with(in.value().mul(vertex.getScaleFactor()));
    };

    /** ShiftVertex: {@code x + shiftFactor}. */
    static final VertexConverter<ShiftVertex> SHIFT = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        return in.with(in.value().add(vertex.getShiftFactor()));
    };

    /**
     * L2NormalizeVertex: {@code x / max(||x||, eps)}, the norm taken over the configured dimensions (by default every
     * dimension but the minibatch one) and broadcast back.
     */
    static final VertexConverter<L2NormalizeVertex> L2_NORMALIZE = (ctx, vertex, inputs) -> {
        SameDiff sd = ctx.sd();
        LayerOutput in = single(ctx, inputs);
        int[] dims = vertex.getDimension();
        if (dims == null || dims.length == 0) {
            dims = allButFirst(in.rank());
        }
        SDVariable norm = Reductions.norm2(in.value(), in.rank(), true, dims);
        SDVariable floor = sd.constant(org.nd4j.linalg.factory.Nd4j.scalar(ctx.dataType(), vertex.getEps()));
        return in.with(in.value().div(sd.max(norm, floor)));
    };

    /**
     * L2Vertex: the Euclidean distance between two inputs, per example: [N, 1]. The squared distance is floored at
     * 1e-30 ({@code f + relu(d^2 - f)}) so that identical inputs get a finite gradient, as DL4J's backprop clamps with
     * its eps (which DL4J does not expose); the value changes only for distances below 1e-15.
     */
    static final VertexConverter<L2Vertex> L2 = (ctx, vertex, inputs) -> {
        if (inputs.size() != 2) {
            throw ctx.unsupported(inputs.size() + " inputs", List.of("exactly 2 inputs"));
        }
        SameDiff sd = ctx.sd();
        SDVariable diff = inputs.get(0).value().sub(inputs.get(1).value());
        int rank = inputs.get(0).rank();
        SDVariable squared = Reductions.sum(sd.math().square(diff), rank, false, allButFirst(rank));
        double floor = 1e-30;
        SDVariable distance = sd.math().sqrt(sd.nn().relu(squared.sub(floor), 0.0).add(floor));
        return new LayerOutput(distance.reshape(-1, 1), 2);
    };

    /** SubsetVertex: features (or channels) {@code from} to {@code to}, both included, along axis 1. */
    static final VertexConverter<SubsetVertex> SUBSET = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        int[] begin = new int[in.rank()];
        int[] size = new int[in.rank()];
        Arrays.fill(size, -1);
        begin[1] = vertex.getFrom();
        size[1] = vertex.getTo() - vertex.getFrom() + 1;
        return in.with(ctx.sd().slice(in.value(), begin, size));
    };

    /**
     * StackVertex: the inputs concatenated along the minibatch axis. Time series must have equal lengths (DL4J pads
     * shorter ones; here the concatenation fails at run time).
     */
    static final VertexConverter<StackVertex> STACK = (ctx, vertex, inputs) -> {
        if (inputs.size() == 1) {
            return inputs.get(0);
        }
        return new LayerOutput(ctx.sd().concat(0, values(inputs)), inputs.get(0).rank());
    };

    /**
     * UnstackVertex: the {@code from}-th of {@code stackSize} equal parts of the minibatch, whose size must be a
     * multiple of {@code stackSize} (DL4J rounds down; here the reshape fails at run time).
     */
    static final VertexConverter<UnstackVertex> UNSTACK = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        return in.with(unstacked(ctx, vertex, in.value(), in.rank()));
    };

    /**
     * The {@code from}-th of {@code stackSize} equal parts of {@code x} (rank {@code rank}) along its first axis:
     * [stackSize * n, rest...] -> [stackSize, n, rest...], part {@code from}, then the leading axis dropped again.
     * For the activations and for the masks stacked with them.
     */
    static SDVariable unstacked(ConversionContext ctx, UnstackVertex vertex, SDVariable x, int rank) {
        SameDiff sd = ctx.sd();
        SDVariable rest = sd.slice(sd.shape(x).castTo(org.nd4j.linalg.api.buffer.DataType.INT64), new int[] {1},
                rank - 1);
        SDVariable parts = sd.reshape(x, sd.concat(0, ctx.longVector(vertex.getStackSize()), ctx.longVector(-1), rest));
        int[] begin = new int[rank + 1];
        int[] size = new int[rank + 1];
        Arrays.fill(size, -1);
        begin[0] = vertex.getFrom();
        size[0] = 1;
        SDVariable part = sd.slice(parts, begin, size);
        return sd.reshape(part, sd.concat(0, ctx.longVector(-1), rest));
    }

    /** PreprocessorVertex: the pre-processor alone. */
    static final VertexConverter<PreprocessorVertex> PREPROCESSOR = (ctx, vertex, inputs) ->
            Preprocessors.apply(ctx, vertex.getPreProcessor(), single(ctx, inputs));

    /** ReshapeVertex: a reshape to {@code newShape} (minibatch axis included) in 'c' or 'f' order. */
    static final VertexConverter<ReshapeVertex> RESHAPE = (ctx, vertex, inputs) -> {
        SameDiff sd = ctx.sd();
        LayerOutput in = single(ctx, inputs);
        long[] shape = Arrays.stream(vertex.getNewShape()).asLongStream().toArray();
        if (vertex.getReshapeOrder() == 'c') {
            return new LayerOutput(sd.reshape(in.value(), shape), shape.length);
        }
        if (vertex.getReshapeOrder() != 'f') {
            throw ctx.unsupported("reshape order '" + vertex.getReshapeOrder() + "'", List.of("'c'", "'f'"));
        }
        // An 'f'-order reshape is a 'c'-order one of the axes reversed: reverse, reshape reversed, reverse back.
        long[] reversedShape = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            reversedShape[i] = shape[shape.length - 1 - i];
        }
        SDVariable reversed = sd.permute(in.value(), reversedAxes(in.rank()));
        SDVariable out = sd.permute(sd.reshape(reversed, reversedShape), reversedAxes(shape.length));
        return new LayerOutput(out, shape.length);
    };

    /** PoolHelperVertex: drops the first row and column of NCHW activations (GoogLeNet imports from Caffe). */
    static final VertexConverter<PoolHelperVertex> POOL_HELPER = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        return in.with(ctx.sd().slice(in.value(), new int[] {0, 0, 1, 1}, -1, -1, -1, -1));
    };

    /**
     * LastTimeStepVertex: the activations at the last time step of [N, n, T] time series (masks, which DL4J uses to
     * find each example's last step, are not supported). {@code point(-1)} is one of the strided-slice forms whose
     * gradient passes the finite-difference check.
     */
    static final VertexConverter<LastTimeStepVertex> LAST_TIME_STEP = (ctx, vertex, inputs) -> {
        LayerOutput in = single(ctx, inputs);
        SDVariable mask = ctx.inputMask(vertex.getMaskArrayInputName());
        if (mask != null && in.mask() != null && in.mask() != mask) {
            // the series' steps came through layers that change them (a 1D convolution, say): the named input's
            // mask may not fit them (DL4J then fails or reads the wrong step)
            throw SequenceMasks.refused(ctx);
        }
        if (mask != null) {       // DL4J takes each example's last step present in the named input's mask
            return new LayerOutput(SequenceMasks.lastPresent(in.value(), mask, false), 2);
        }
        return new LayerOutput(in.value().get(SDIndex.all(), SDIndex.all(), SDIndex.point(-1)), 2);
    };

    /**
     * DuplicateToTimeSeriesVertex: [N, n] activations repeated at every time step of the named network input, [N, n, T].
     */
    static final VertexConverter<DuplicateToTimeSeriesVertex> DUPLICATE_TO_TIME_SERIES = (ctx, vertex, inputs) -> {
        SameDiff sd = ctx.sd();
        LayerOutput in = single(ctx, inputs);
        SDVariable series = ctx.networkInput(vertex.getInputName());
        SDVariable ones = sd.onesLike(sd.slice(series, new int[] {0, 0, 0}, 1, 1, -1));     // [1, 1, T]
        return new LayerOutput(sd.expandDims(in.value(), 2).mul(ones), 3);
    };

    private static LayerOutput single(ConversionContext ctx, List<LayerOutput> inputs) {
        if (inputs.size() != 1) {
            throw ctx.unsupported(inputs.size() + " inputs", List.of("exactly one input"));
        }
        return inputs.get(0);
    }

    private static SDVariable[] values(List<LayerOutput> inputs) {
        return inputs.stream().map(LayerOutput::value).toArray(SDVariable[]::new);
    }

    private static int[] allButFirst(int rank) {
        int[] dims = new int[rank - 1];
        for (int i = 1; i < rank; i++) {
            dims[i - 1] = i;
        }
        return dims;
    }

    private static int[] reversedAxes(int rank) {
        int[] axes = new int[rank];
        for (int i = 0; i < rank; i++) {
            axes[i] = rank - 1 - i;
        }
        return axes;
    }
}
