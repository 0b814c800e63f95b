package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Converts a {@link MultiLayerNetwork} into one SameDiff graph, layer by layer, at DL4J's inference semantics.
 * Internal to the adapter; use {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class NetworkConverter {

    private NetworkConverter() {
    }

    /** The names of the supported DL4J layer classes. */
    public static List<String> supportedLayers() {
        return LayerConverters.supported();
    }

    /**
     * Converts {@code net}, reading (copying) its parameters; {@code net} is not modified.
     *
     * @param sequenceLength the number of time steps of the input, for layers the graph unrolls; -1 if unknown
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a layer or option cannot be converted
     */
    public static ConvertedNetwork convert(MultiLayerNetwork net, int sequenceLength) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        NetworkConversion c = new NetworkConversion(conf.getDataType(), sequenceLength);
        int layers = conf.getConfs().size();
        Layer first = conf.getConf(0).getLayer();
        InputPreProcessor firstPre = conf.getInputPreProcess(0);
        long[] inputShape = inputShape(first, firstPre);
        if (sequenceLength > 0 && inputShape.length == 3) {
            inputShape[inputShape[1] == -1 ? 1 : 2] = sequenceLength;
        }
        c.input = c.sd.placeHolder(NetworkConversion.INPUT, c.dataType, inputShape);
        Activations a = new Activations(c.input, inputShape.length);
        for (int i = 0; i < layers; i++) {
            Layer layer = conf.getConf(i).getLayer();
            ConversionContext ctx = new ConversionContext(c, i, layer, net.getLayer(i).paramTable(), "", false);
            NameScope scope = c.sd.withNameScope("layer" + i);
            try {
                InputPreProcessor pre = conf.getInputPreProcess(i);
                if (pre != null) {
                    a = Preprocessors.apply(ctx, pre, a);
                }
                a = LayerConverters.convert(ctx, layer, a);
            } finally {
                scope.close();
            }
        }
        SDVariable out = a.value();
        if (out == c.input) {
            out = out.add(0.0);     // a network of pass-through layers still gets its own output variable
        }
        c.sd.renameVariable(out.name(), NetworkConversion.OUTPUT);
        if (c.labelName != null && !c.labelName.equals(NetworkConversion.LABELS)) {
            c.sd.renameVariable(c.labelName, NetworkConversion.LABELS);
            c.labelName = NetworkConversion.LABELS;
        }
        if (c.lossName != null) {
            c.sd.setLossVariables(c.lossName);
        }
        return new ConvertedNetwork(c, NetworkConversion.OUTPUT);
    }

    /** The input placeholder's shape, from the first layer and its pre-processor (-1: known only at run time). */
    static long[] inputShape(Layer first, InputPreProcessor pre) {
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
        Layer inner = unwrap(first);
        long nIn = inner instanceof FeedForwardLayer ? ((FeedForwardLayer) inner).getNIn() : -1;
        if (pre instanceof RnnToFeedForwardPreProcessor) {
            return new long[] {-1, nIn, -1};
        }
        if (pre instanceof FeedForwardToRnnPreProcessor) {
            return new long[] {-1, nIn};
        }
        if (inner instanceof BaseRecurrentLayer || inner instanceof RnnOutputLayer || inner instanceof Bidirectional) {
            RNNFormat format = inner instanceof BaseRecurrentLayer ? ((BaseRecurrentLayer) inner).getRnnDataFormat()
                    : inner instanceof RnnOutputLayer ? ((RnnOutputLayer) inner).getRnnDataFormat() : RNNFormat.NCW;
            if (inner instanceof Bidirectional) {
                Layer fwd = unwrap(((Bidirectional) inner).getFwd());
                nIn = ((FeedForwardLayer) fwd).getNIn();
                format = fwd instanceof BaseRecurrentLayer ? ((BaseRecurrentLayer) fwd).getRnnDataFormat() : format;
            }
            return format == RNNFormat.NWC ? new long[] {-1, -1, nIn} : new long[] {-1, nIn, -1};
        }
        if (inner instanceof EmbeddingSequenceLayer) {
            return new long[] {-1, -1};
        }
        if (inner instanceof EmbeddingLayer) {
            return new long[] {-1, 1};
        }
        if (inner instanceof ConvolutionLayer) {
            return ((ConvolutionLayer) inner).getCnn2dDataFormat() == CNN2DFormat.NHWC
                    ? new long[] {-1, -1, -1, nIn} : new long[] {-1, nIn, -1, -1};
        }
        if (inner instanceof SubsamplingLayer) {
            return new long[] {-1, -1, -1, -1};
        }
        if (inner instanceof BatchNormalization) {
            return new long[] {-1, ((BatchNormalization) inner).getNOut()};
        }
        if (inner instanceof FeedForwardLayer && nIn > 0) {
            return new long[] {-1, nIn};
        }
        return new long[] {-1, -1};
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
