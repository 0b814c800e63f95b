package org.mutablemodules.dl4j.internal;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link LayerConverter} sees of the conversion: the graph, the layer's parameters (looked up by DL4J's own
 * keys, through any wrapper's key prefix), and where to record the loss. One instance per layer and wrapper level.
 */
final class ConversionContext {

    private final NetworkConversion conversion;
    private final int layerIndex;
    private final Layer outerLayer;
    private final Map<String, INDArray> paramTable;
    private final String keyPrefix;
    private final boolean frozen;

    ConversionContext(NetworkConversion conversion, int layerIndex, Layer outerLayer, Map<String, INDArray> paramTable,
                      String keyPrefix, boolean frozen) {
        this.conversion = conversion;
        this.layerIndex = layerIndex;
        this.outerLayer = outerLayer;
        this.paramTable = paramTable;
        this.keyPrefix = keyPrefix;
        this.frozen = frozen;
    }

    SameDiff sd() {
        return conversion.sd;
    }

    DataType dataType() {
        return conversion.dataType;
    }

    /** The network's input placeholder (its first dimension is the minibatch size). */
    SDVariable networkInput() {
        return conversion.input;
    }

    /** The number of time steps declared at conversion, or -1. */
    int sequenceLength() {
        return conversion.sequenceLength;
    }

    /** The context of a layer wrapped by this one, whose parameter keys carry {@code prefix} in DL4J's table. */
    ConversionContext wrapped(String prefix, boolean frozenWrapper) {
        return new ConversionContext(conversion, layerIndex, outerLayer, paramTable, keyPrefix + prefix,
                frozen || frozenWrapper);
    }

    /**
     * A trainable parameter of the layer: a new {@code VARIABLE} holding a copy of DL4J's array (same shape, 'c'
     * order), named {@code layer<i>/<key>}. Parameters of frozen layers are recorded as frozen.
     */
    SDVariable param(String key) {
        return param(key, frozen);
    }

    /** A parameter that DL4J never changes by gradient (batch normalisation's running statistics). */
    SDVariable statistic(String key) {
        return param(key, true);
    }

    private SDVariable param(String key, boolean notTrained) {
        String fullKey = keyPrefix + key;
        INDArray value = paramTable.get(fullKey);
        if (value == null) {
            throw new IllegalStateException("Layer " + layerIndex + " has no parameter \"" + fullKey
                    + "\"; its parameters are " + paramTable.keySet());
        }
        // SameDiff's name scopes do not apply to var(): the layer's scope is spelled out.
        SDVariable v = conversion.sd.var("layer" + layerIndex + "/" + fullKey,
                value.dup('c').castTo(conversion.dataType));
        conversion.recordParameter(layerIndex + "_" + fullKey, v.name(), notTrained);
        return v;
    }

    /**
     * The size of {@code x} along {@code axis} at run time, as an INT64 vector of length 1 (for dynamic reshapes).
     * Built from {@code shape} and {@code slice}: ND4J's {@code sizeAt} logs a warning each time a gradient
     * function is built.
     */
    SDVariable dimension(SDVariable x, int axis) {
        SameDiff sd = conversion.sd;
        return sd.slice(sd.shape(x).castTo(DataType.INT64), new int[] {axis}, 1);
    }

    /** A constant INT64 vector of length 1. */
    SDVariable longVector(long value) {
        return conversion.sd.constant(org.nd4j.linalg.factory.Nd4j.createFromArray(value));
    }

    /** Records the network's loss; called by the output layer's converter. */
    void defineLoss(SDVariable score, SDVariable labels) {
        conversion.recordLoss(score, labels);
    }

    /** A new placeholder for the labels, of the output's rank. */
    SDVariable labelsPlaceholder(long... shape) {
        return conversion.sd.placeHolder(NetworkConversion.LABELS, conversion.dataType, shape);
    }

    /** Rejects layers whose options change what the graph must compute but are not converted. */
    void requireNoWeightNoise(Layer layer) {
        if (layer instanceof BaseLayer && ((BaseLayer) layer).getWeightNoise() != null) {
            throw unsupported("weight noise (" + ((BaseLayer) layer).getWeightNoise() + ")",
                    List.of("layers without weight noise"));
        }
    }

    /** An exception naming this layer, what is not supported and what is. */
    UnsupportedLayerException unsupported(String what, Collection<String> supported) {
        String name = outerLayer.getLayerName();
        boolean named = name != null && !name.equals("layer" + layerIndex);     // DL4J's default names add nothing
        return new UnsupportedLayerException(String.format(Locale.ROOT,
                "Layer %d (%s%s) uses %s, which cannot be converted. Supported: %s.",
                layerIndex, outerLayer.getClass().getSimpleName(), named ? " \"" + name + "\"" : "",
                what, String.join(", ", supported)));
    }
}
