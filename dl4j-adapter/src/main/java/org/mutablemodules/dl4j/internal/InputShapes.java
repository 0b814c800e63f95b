package org.mutablemodules.dl4j.internal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.BaseUpsamplingLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CapsuleLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleStrengthLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.LocallyConnected2D;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.PrimaryCapsules;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;

/**
 * The shape of each network input placeholder (-1 where known only at run time): from the {@link InputType} the user
 * gives, or else from the first layer that reads the input, looking through vertices and layers that keep their
 * input's rank (merges, element-wise vertices, activations, batch normalisation, dropout). DL4J's configurations do
 * not keep the input types they were built with.
 */
final class InputShapes {

    private InputShapes() {
    }

    /** What a layer says of its input: a shape, "any rank, kept" (look further), or nothing (null). */
    private static final long[] KEEPS_RANK = new long[0];

    /** In a shape a layer implies, its time axis (whose length is free unless the user gives one). */
    private static final long TIME = -2;

    /**
     * The placeholder shape of network input {@code input}, or null when no layer that reads it (through vertices and
     * layers that keep the rank) tells its rank.
     *
     * @param sequenceLength the number of time steps of time-series inputs, or -1 when free
     */
    static long[] of(NetworkDag dag, String input, int sequenceLength) {
        long[] shape = find(dag, input);
        if (shape == null) {
            return null;
        }
        boolean marked = false;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == TIME) {
                shape[i] = sequenceLength > 0 ? sequenceLength : -1;
                marked = true;
            }
        }
        if (!marked && shape.length == 3 && sequenceLength > 0 && shape[2] == -1) {
            shape[2] = sequenceLength;      // a series whose layout no layer tells: DL4J's default, NCW
        }
        return shape;
    }

    /** The placeholder shape for a DL4J input type. */
    static long[] of(InputType type) {
        if (type instanceof InputType.InputTypeFeedForward) {
            return new long[] {-1, ((InputType.InputTypeFeedForward) type).getSize()};
        }
        if (type instanceof InputType.InputTypeRecurrent) {
            InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) type;
            long steps = r.getTimeSeriesLength() > 0 ? r.getTimeSeriesLength() : -1;
            return r.getFormat() == RNNFormat.NWC ? new long[] {-1, steps, r.getSize()}
                    : new long[] {-1, r.getSize(), steps};
        }
        if (type instanceof InputType.InputTypeConvolutionalFlat) {
            return new long[] {-1, ((InputType.InputTypeConvolutionalFlat) type).getFlattenedSize()};
        }
        if (type instanceof InputType.InputTypeConvolutional) {
            InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) type;
            return c.getFormat() == CNN2DFormat.NHWC
                    ? new long[] {-1, c.getHeight(), c.getWidth(), c.getChannels()}
                    : new long[] {-1, c.getChannels(), c.getHeight(), c.getWidth()};
        }
        return null;
    }

    /**
     * The rank of network input {@code input} when its first readers are users' own SameDiff layers or vertices,
     * which declare no input shape: the rank a later layer tells, assuming that those layers keep their input's rank
     * (as most do; their sizes are free). -1 when no layer tells. The placeholder then takes any shape, as DL4J's
     * {@code output} does; {@code MutableNetwork} fixes its rank and width from the first input it computes with.
     */
    static int rankThroughUsersLayers(NetworkDag dag, String input) {
        long[] shape = find(dag, input, true);
        return shape == null ? -1 : shape.length;
    }

    private static long[] find(NetworkDag dag, String input) {
        return find(dag, input, false);
    }

    private static long[] find(NetworkDag dag, String input, boolean throughUsersLayers) {
        for (NetworkDag.Node node : dag.nodes()) {
            GraphVertex v = unwrap(node.vertex());
            if (v instanceof DuplicateToTimeSeriesVertex
                    && input.equals(((DuplicateToTimeSeriesVertex) v).getInputName())) {
                return new long[] {-1, -1, -1};
            }
        }
        // Breadth-first through the readers; after a vertex that changes sizes (a merge, a subset), only the rank of
        // what a layer expects still says something about the input.
        // A 1D padding, cropping, upsampling or pooling layer tells the layout but not the width: its shape is kept
        // for the end, and the search goes on through it for a later layer that tells the width.
        long[] layoutOnly = null;
        Deque<String> queue = new ArrayDeque<>();
        Deque<Boolean> exact = new ArrayDeque<>();
        Set<String> seen = new HashSet<>();
        queue.add(input);
        exact.add(true);
        while (!queue.isEmpty()) {
            String name = queue.removeFirst();
            boolean sizesHold = exact.removeFirst();
            for (NetworkDag.Node consumer : dag.consumersOf(name)) {
                GraphVertex v = unwrap(consumer.vertex());
                long[] shape;
                boolean keepsSizes = true;
                if (throughUsersLayers && isUsersSameDiff(v)) {
                    shape = KEEPS_RANK;
                    keepsSizes = false;
                } else if (v instanceof LayerVertex) {
                    LayerVertex lv = (LayerVertex) v;
                    shape = forLayer(lv.getLayerConf().getLayer(), lv.getPreProcessor());
                } else if (v instanceof PreprocessorVertex) {
                    shape = forPreprocessor(((PreprocessorVertex) v).getPreProcessor(), -1);
                } else if (v instanceof AttentionVertex a) {
                    shape = attentionInput(a, consumer.inputs().indexOf(name));
                } else if (v instanceof LastTimeStepVertex) {
                    shape = new long[] {-1, -1, -1};
                } else if (v instanceof PoolHelperVertex) {
                    shape = new long[] {-1, -1, -1, -1};
                } else if (v instanceof ElementWiseVertex || v instanceof ScaleVertex || v instanceof ShiftVertex
                        || v instanceof L2NormalizeVertex || v instanceof StackVertex || v instanceof UnstackVertex) {
                    shape = KEEPS_RANK;
                } else if (v instanceof MergeVertex || v instanceof SubsetVertex) {
                    shape = KEEPS_RANK;
                    keepsSizes = false;
                } else {
                    continue;
                }
                if (shape == null) {
                    continue;
                }
                if (layoutOnly != null && shape != KEEPS_RANK) {
                    if (sameLayout(layoutOnly, shape) && sizesHold) {
                        return shape;
                    }
                    continue;       // another rank or layout after the 1D layer: that layer's reshaping, not ours
                }
                if (shape != KEEPS_RANK && keepsFeatures(v)) {
                    layoutOnly = shape;
                    shape = KEEPS_RANK;
                }
                if (shape != KEEPS_RANK) {
                    return sizesHold ? shape : rankOnly(shape);
                }
                if (seen.add(consumer.name())) {
                    queue.add(consumer.name());
                    exact.add(sizesHold && keepsSizes);
                }
            }
        }
        return layoutOnly;
    }

    /** A user's SameDiff layer or vertex (outside DL4J's packages), whose input shape nothing declares. */
    private static boolean isUsersSameDiff(GraphVertex v) {
        if (v instanceof LayerVertex lv && lv.getPreProcessor() == null) {
            Layer layer = unwrap(lv.getLayerConf().getLayer());
            return layer instanceof AbstractSameDiffLayer && CustomLayerConverters.isUserWritten(layer.getClass());
        }
        return v instanceof SameDiffVertex && CustomLayerConverters.isUserWritten(v.getClass());
    }

    /** A 1D layer that changes the number of time steps but neither the features nor the layout. */
    private static boolean keepsFeatures(GraphVertex v) {
        if (!(v instanceof LayerVertex) || ((LayerVertex) v).getPreProcessor() != null) {
            return false;
        }
        Layer layer = unwrap(((LayerVertex) v).getLayerConf().getLayer());
        return layer instanceof Subsampling1DLayer || layer instanceof ZeroPadding1DLayer
                || layer instanceof Cropping1D || layer instanceof Upsampling1D;
    }

    private static boolean sameLayout(long[] a, long[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if ((a[i] == TIME) != (b[i] == TIME)) {
                return false;
            }
        }
        return true;
    }

    private static long[] rankOnly(long[] shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = shape[i] == TIME ? TIME : -1;      // sizes may change on the way; the layout does not
        }
        return out;
    }

    private static GraphVertex unwrap(GraphVertex v) {
        return v instanceof FrozenVertex ? unwrap(((FrozenVertex) v).getUnderlying()) : v;
    }

    /** The input shape a pre-processor implies, or null for one it does not know. */
    private static long[] forPreprocessor(InputPreProcessor pre, long nIn) {
        if (pre instanceof FeedForwardToCnnPreProcessor) {
            FeedForwardToCnnPreProcessor p = (FeedForwardToCnnPreProcessor) pre;
            return new long[] {-1, p.getInputHeight() * p.getInputWidth() * p.getNumChannels()};
        }
        if (pre instanceof CnnToFeedForwardPreProcessor) {
            CnnToFeedForwardPreProcessor p = (CnnToFeedForwardPreProcessor) pre;
            return p.getFormat() == CNN2DFormat.NHWC
                    ? new long[] {-1, p.getInputHeight(), p.getInputWidth(), p.getNumChannels()}
                    : new long[] {-1, p.getNumChannels(), p.getInputHeight(), p.getInputWidth()};
        }
        if (pre instanceof RnnToFeedForwardPreProcessor) {
            return ((RnnToFeedForwardPreProcessor) pre).getRnnDataFormat() == RNNFormat.NWC
                    ? new long[] {-1, TIME, nIn} : new long[] {-1, nIn, TIME};
        }
        if (pre instanceof FeedForwardToRnnPreProcessor) {
            return new long[] {-1, nIn};
        }
        return null;
    }

    /**
     * The input shape a layer (after its pre-processor) implies; {@link #KEEPS_RANK} for a layer that keeps any rank;
     * null when the layer does not say (global pooling takes rank 3 or 4).
     */
    static long[] forLayer(Layer layer, InputPreProcessor pre) {
        Layer inner = unwrap(layer);
        long nIn = inner instanceof FeedForwardLayer ? ((FeedForwardLayer) inner).getNIn() : -1;
        nIn = nIn > 0 ? nIn : -1;
        if (pre != null) {
            return forPreprocessor(pre, nIn);
        }
        if (inner instanceof ActivationLayer || inner instanceof DropoutLayer || inner instanceof BatchNormalization
                || inner instanceof PReLULayer) {
            return KEEPS_RANK;
        }
        if (inner instanceof BaseRecurrentLayer || inner instanceof RnnOutputLayer || inner instanceof Bidirectional
                || inner instanceof RnnLossLayer || inner instanceof Convolution1DLayer) {
            return series(inner, nIn);
        }
        if (inner instanceof Subsampling1DLayer) {
            // DL4J gives it the NHWC format when its input is NWC
            return ((Subsampling1DLayer) inner).getCnn2dDataFormat() == CNN2DFormat.NHWC
                    ? new long[] {-1, TIME, -1} : new long[] {-1, -1, TIME};
        }
        if (inner instanceof ZeroPadding1DLayer || inner instanceof Cropping1D || inner instanceof Upsampling1D) {
            return new long[] {-1, -1, TIME};      // NCW only
        }
        if (inner instanceof EmbeddingSequenceLayer) {
            return new long[] {-1, -1};
        }
        if (inner instanceof EmbeddingLayer) {
            return new long[] {-1, 1};
        }
        if (inner instanceof ConvolutionLayer) {
            return image(((ConvolutionLayer) inner).getCnn2dDataFormat(), nIn);
        }
        if (inner instanceof SubsamplingLayer) {
            return image(((SubsamplingLayer) inner).getCnn2dDataFormat(), -1);
        }
        if (inner instanceof ZeroPaddingLayer) {
            return image(((ZeroPaddingLayer) inner).getDataFormat(), -1);
        }
        if (inner instanceof Cropping2D) {
            return image(((Cropping2D) inner).getDataFormat(), -1);
        }
        if (inner instanceof BaseUpsamplingLayer || inner instanceof SpaceToDepthLayer
                || inner instanceof LocalResponseNormalization || inner instanceof CnnLossLayer
                || inner instanceof Yolo2OutputLayer) {
            return new long[] {-1, -1, -1, -1};
        }
        if (inner instanceof FeedForwardLayer) {
            return new long[] {-1, nIn};
        }
        return forSameDiffLayer(inner);
    }

    /** The input shapes of DL4J's own SameDiff-based layers, from their configured sizes (NCW, NCHW). */
    private static long[] forSameDiffLayer(Layer inner) {
        if (inner instanceof SelfAttentionLayer a) {
            return new long[] {-1, positive(a.getNIn()), TIME};
        }
        if (inner instanceof LearnedSelfAttentionLayer a) {
            return new long[] {-1, positive(a.getNIn()), TIME};
        }
        if (inner instanceof RecurrentAttentionLayer a) {
            return new long[] {-1, positive(a.getNIn()), TIME};
        }
        if (inner instanceof LocallyConnected1D l) {
            // its weights are per position: the series has exactly inputSize steps
            return new long[] {-1, positive(l.getNIn()), l.getInputSize() > 0 ? l.getInputSize() : TIME};
        }
        if (inner instanceof LocallyConnected2D l) {
            int[] size = l.getInputSize();
            long h = size == null ? -1 : size[0];
            long w = size == null ? -1 : size[1];
            return l.getFormat() == CNN2DFormat.NHWC ? new long[] {-1, h, w, positive(l.getNIn())}
                    : new long[] {-1, positive(l.getNIn()), h, w};
        }
        if (inner instanceof PrimaryCapsules p) {
            return image(CNN2DFormat.NCHW, positive(p.getInputChannels()));
        }
        if (inner instanceof CapsuleLayer c) {
            return new long[] {-1, positive(c.getInputCapsules()), positive(c.getInputCapsuleDimensions())};
        }
        if (inner instanceof CapsuleStrengthLayer) {
            return new long[] {-1, -1, -1};
        }
        return null;
    }

    /** An {@code AttentionVertex}'s input {@code index}: queries, then keys, then values (one input: all three). */
    private static long[] attentionInput(AttentionVertex a, int index) {
        long width = index == 0 ? a.getNInQueries() : index == 1 ? a.getNInKeys() : a.getNInValues();
        return new long[] {-1, positive(width), TIME};
    }

    private static long positive(long size) {
        return size > 0 ? size : -1;
    }

    private static long[] series(Layer inner, long nIn) {
        RNNFormat format = RNNFormat.NCW;
        long width = nIn;
        if (inner instanceof Bidirectional) {
            Layer fwd = unwrap(((Bidirectional) inner).getFwd());
            width = fwd instanceof FeedForwardLayer ? ((FeedForwardLayer) fwd).getNIn() : -1;
            inner = fwd;
        }
        if (inner instanceof BaseRecurrentLayer) {
            format = ((BaseRecurrentLayer) inner).getRnnDataFormat();
        } else if (inner instanceof RnnOutputLayer) {
            format = ((RnnOutputLayer) inner).getRnnDataFormat();
        } else if (inner instanceof RnnLossLayer) {
            format = ((RnnLossLayer) inner).getRnnDataFormat();
        } else if (inner instanceof Convolution1DLayer) {
            format = ((Convolution1DLayer) inner).getRnnDataFormat();
        }
        width = width > 0 ? width : -1;
        return format == RNNFormat.NWC ? new long[] {-1, TIME, width} : new long[] {-1, width, TIME};
    }

    private static long[] image(CNN2DFormat format, long channels) {
        return format == CNN2DFormat.NHWC ? new long[] {-1, -1, -1, channels} : new long[] {-1, channels, -1, -1};
    }

    private static Layer unwrap(Layer layer) {
        Layer l = layer;
        while (true) {
            if (l instanceof FrozenLayer) {
                l = ((FrozenLayer) l).getLayer();
            } else if (l instanceof BaseWrapperLayer) {
                l = ((BaseWrapperLayer) l).getUnderlying();
            } else {
                return l;
            }
        }
    }
}
