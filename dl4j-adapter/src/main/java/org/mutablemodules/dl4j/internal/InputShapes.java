package org.mutablemodules.dl4j.internal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.BaseUpsamplingLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
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
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;

/**
 * The shape of each network input placeholder (-1 where known only at run time). DL4J's configurations do not keep
 * the input types they were built with, so the shape is read from the first layer that reads the input, looking
 * through vertices and layers that keep their input's rank (merges, element-wise vertices, activations, batch
 * normalisation, dropout).
 */
final class InputShapes {

    private InputShapes() {
    }

    /**
     * The placeholder shape of network input {@code input}.
     *
     * @param sequenceLength the number of time steps of time-series inputs, or -1 when free
     */
    static long[] of(NetworkDag dag, String input, int sequenceLength) {
        long[] shape = find(dag, input);
        if (shape.length == 3 && sequenceLength > 0) {
            int timeAxis = shape[2] == -1 && shape[1] != -1 ? 2 : shape[1] == -1 && shape[2] != -1 ? 1 : 2;
            shape[timeAxis] = sequenceLength;
        }
        return shape;
    }

    private static long[] find(NetworkDag dag, String input) {
        for (NetworkDag.Node node : dag.nodes()) {
            GraphVertex v = unwrap(node.vertex());
            if (v instanceof DuplicateToTimeSeriesVertex
                    && input.equals(((DuplicateToTimeSeriesVertex) v).getInputName())) {
                return new long[] {-1, -1, -1};
            }
        }
        Deque<String> queue = new ArrayDeque<>();
        Set<String> seen = new HashSet<>();
        queue.add(input);
        while (!queue.isEmpty()) {
            String name = queue.removeFirst();
            for (NetworkDag.Node consumer : dag.consumersOf(name)) {
                GraphVertex v = unwrap(consumer.vertex());
                long[] shape = null;
                if (v instanceof LayerVertex) {
                    LayerVertex lv = (LayerVertex) v;
                    shape = forLayer(lv.getLayerConf().getLayer(), lv.getPreProcessor());
                } else if (v instanceof LastTimeStepVertex) {
                    shape = new long[] {-1, -1, -1};
                } else if (v instanceof PoolHelperVertex) {
                    shape = new long[] {-1, -1, -1, -1};
                } else if (!keepsRank(v)) {
                    continue;
                }
                if (shape != null) {
                    return shape;
                }
                if (seen.add(consumer.name())) {
                    queue.add(consumer.name());
                }
            }
        }
        return new long[] {-1, -1};
    }

    private static boolean keepsRank(GraphVertex v) {
        return v instanceof LayerVertex || v instanceof MergeVertex || v instanceof ElementWiseVertex
                || v instanceof ScaleVertex || v instanceof ShiftVertex || v instanceof L2NormalizeVertex
                || v instanceof SubsetVertex || v instanceof StackVertex || v instanceof UnstackVertex
                || v instanceof L2Vertex;
    }

    private static GraphVertex unwrap(GraphVertex v) {
        return v instanceof FrozenVertex ? unwrap(((FrozenVertex) v).getUnderlying()) : v;
    }

    /** The input shape a layer (after its pre-processor) implies, or null when the layer keeps any rank. */
    static long[] forLayer(Layer layer, InputPreProcessor pre) {
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
        Layer inner = unwrap(layer);
        long nIn = inner instanceof FeedForwardLayer ? ((FeedForwardLayer) inner).getNIn() : -1;
        nIn = nIn > 0 ? nIn : -1;
        if (pre instanceof RnnToFeedForwardPreProcessor) {
            return ((RnnToFeedForwardPreProcessor) pre).getRnnDataFormat() == RNNFormat.NWC
                    ? new long[] {-1, -1, nIn} : new long[] {-1, nIn, -1};
        }
        if (pre instanceof FeedForwardToRnnPreProcessor) {
            return new long[] {-1, nIn};
        }
        if (inner instanceof ActivationLayer || inner instanceof DropoutLayer || inner instanceof BatchNormalization
                || inner instanceof PReLULayer) {
            return null;
        }
        if (inner instanceof BaseRecurrentLayer || inner instanceof RnnOutputLayer || inner instanceof Bidirectional
                || inner instanceof RnnLossLayer || inner instanceof Convolution1DLayer) {
            return series(inner, nIn);
        }
        if (inner instanceof Subsampling1DLayer || inner instanceof ZeroPadding1DLayer || inner instanceof Cropping1D
                || inner instanceof Upsampling1D) {
            return new long[] {-1, -1, -1};
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
        return new long[] {-1, nIn};
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
        return format == RNNFormat.NWC ? new long[] {-1, -1, width} : new long[] {-1, width, -1};
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
