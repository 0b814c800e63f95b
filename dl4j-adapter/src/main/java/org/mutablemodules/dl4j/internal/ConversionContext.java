package org.mutablemodules.dl4j.internal;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What a {@link LayerConverter} or {@link VertexConverter} sees of the conversion: the graph, the vertex's parameters
 * (looked up by DL4J's own keys, through any wrapper's key prefix), and where to record a loss. One instance per
 * vertex and wrapper level.
 */
final class ConversionContext {

    private final NetworkConversion conversion;
    private final NetworkDag.Node node;
    private final Object configuration;
    private final String keyPrefix;
    private final boolean frozen;
    /** True inside a layer DL4J always computes at inference (a frozen layer), even in training mode. */
    private final boolean inference;
    /**
     * True inside {@code LastTimeStep}, which gives its layer the mask with {@code setMaskArray}: DL4J's LSTM
     * computes with a mask only then ({@code feedForwardMaskArray} does not keep it).
     */
    private final boolean maskSet;

    private ConversionContext(NetworkConversion conversion, NetworkDag.Node node, Object configuration,
                              String keyPrefix, boolean frozen, boolean inference, boolean maskSet) {
        this.conversion = conversion;
        this.node = node;
        this.configuration = configuration;
        this.keyPrefix = keyPrefix;
        this.frozen = frozen;
        this.inference = inference;
        this.maskSet = maskSet;
    }

    /** The context of a vertex of the network. */
    static ConversionContext of(NetworkConversion conversion, NetworkDag.Node node) {
        return new ConversionContext(conversion, node, node.vertex(), "", false, false, false);
    }

    SameDiff sd() {
        return conversion.sd;
    }

    DataType dataType() {
        return conversion.dataType;
    }

    /** The network's first input placeholder (its first dimension is the minibatch size). */
    SDVariable networkInput() {
        return conversion.inputs.values().iterator().next();
    }

    /**
     * The network input called {@code name}.
     *
     * @throws UnsupportedLayerException if the network has no such input
     */
    SDVariable networkInput(String name) {
        SDVariable v = conversion.inputs.get(name);
        if (v == null) {
            throw unsupported("the network input \"" + name + "\", which does not exist",
                    List.of("one of the network inputs " + conversion.inputs.keySet()));
        }
        return v;
    }

    /** The name of the vertex being converted ({@code layer0} in a {@code MultiLayerNetwork}). */
    String vertexName() {
        return node.name();
    }

    /** The layer's index in a {@code MultiLayerNetwork}, or 0 in a {@code ComputationGraph} (for DL4J's type API). */
    int layerIndex() {
        return Math.max(node.layerIndex(), 0);
    }

    /** The features mask of network input {@code name} in a masked replay, else null. */
    SDVariable inputMask(String name) {
        return conversion.givenMasks.get(name);
    }

    /** The labels mask of this output vertex in a masked replay, else null. */
    SDVariable labelMask() {
        return conversion.givenLabelMasks.get(node.name());
    }

    /** The number of time steps declared at conversion (in a masked replay, the masks'), or -1. */
    int sequenceLength() {
        return conversion.sequenceLength;
    }

    /** The context of the layer a layer vertex holds: messages name the layer's class. */
    ConversionContext forLayer(Layer layer) {
        return new ConversionContext(conversion, node, layer, keyPrefix, frozen, inference, maskSet);
    }

    /** The context of a layer wrapped by this one, whose parameter keys carry {@code prefix} in DL4J's table. */
    ConversionContext wrapped(String prefix, boolean frozenWrapper) {
        return new ConversionContext(conversion, node, configuration, keyPrefix + prefix, frozen || frozenWrapper,
                inference, maskSet);
    }

    /**
     * This context at inference whatever the mode: DL4J's {@code FrozenLayer} and {@code FrozenLayerWithBackprop}
     * run the layer they wrap at inference even while the network trains (batch normalisation with its running
     * statistics, no dropout).
     */
    ConversionContext atInference() {
        return new ConversionContext(conversion, node, configuration, keyPrefix, frozen, true, maskSet);
    }

    /** This context inside {@code LastTimeStep}, which sets the mask on the layer it wraps. */
    ConversionContext settingMask() {
        return new ConversionContext(conversion, node, configuration, keyPrefix, frozen, inference, true);
    }

    /** {@return true where the layer was given the mask by {@code setMaskArray} ({@link #settingMask()})} */
    boolean maskSet() {
        return maskSet;
    }

    /**
     * A trainable parameter of the layer: a new {@code VARIABLE} holding a copy of DL4J's array (same shape, 'c'
     * order), named {@code <vertex>/<key>} ({@code layer0/W}, {@code conv1/W}). Parameters of frozen layers are
     * recorded as frozen.
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
        if (conversion.replays()) {
            SDVariable given = conversion.givenParameters.get(node.keyPrefix() + fullKey);
            if (given == null) {
                throw new IllegalStateException(node.describe(configuration) + " reads the parameter \""
                        + node.keyPrefix() + fullKey + "\", which the converted network does not have.");
            }
            return given;
        }
        INDArray value = node.paramTable().get(fullKey);
        if (value == null) {
            throw new IllegalStateException(node.describe(configuration) + " has no parameter \"" + fullKey
                    + "\"; its parameters are " + node.paramTable().keySet());
        }
        // SameDiff's name scopes do not apply to var(): the vertex's scope is spelled out.
        SDVariable v = conversion.sd.var(node.name() + "/" + fullKey, value.dup('c').castTo(conversion.dataType));
        conversion.recordParameter(node.keyPrefix() + fullKey, v.name(), notTrained);
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
        return conversion.sd.constant(Nd4j.createFromArray(value));
    }

    /**
     * True when this vertex is one of the network's outputs, so that an output layer here is scored against labels.
     * DL4J ignores the loss of an output layer whose activations only feed other vertices.
     */
    boolean hasLabels() {
        return conversion.isOutput(node.name());
    }

    /** True when other vertices read this vertex's activations. */
    boolean feedsOtherVertices() {
        return !conversion.dag.consumersOf(node.name()).isEmpty();
    }

    /**
     * A new placeholder for this output vertex's labels (while replaying, the labels given); only when
     * {@link #hasLabels()}.
     */
    SDVariable labelsPlaceholder(long... shape) {
        if (conversion.replays()) {
            return conversion.givenLabels.get(node.name());
        }
        return conversion.sd.placeHolder(conversion.labelName(node.name()), conversion.dataType, shape);
    }

    /**
     * Records this output vertex's score (DL4J's loss averaged over the minibatch) and its labels. A layer configured
     * with {@code miniBatch(false)} is scored as DL4J scores it then: summed over the examples instead.
     */
    void defineLoss(SDVariable score, SDVariable labels) {
        SDVariable scored = score;
        if (!averagesOverMinibatch()) {
            SDVariable examples = conversion.sd.sum(dimension(labels, 0).castTo(score.dataType()));
            scored = score.mul(examples);
        }
        conversion.recordLoss(node.name(), scored, labels);
    }

    /**
     * Records this output vertex's score as given, whatever the layer's {@code miniBatch} setting: for layers that
     * average over the minibatch themselves ({@code SameDiffOutputLayer}).
     */
    void defineOwnLoss(SDVariable score, SDVariable labels) {
        conversion.recordLoss(node.name(), score, labels);
    }

    /** Whether this output vertex's score is averaged over the minibatch (false for {@code miniBatch(false)}). */
    boolean averagesOverMinibatch() {
        GraphVertex v = node.vertex();
        while (v instanceof FrozenVertex) {
            v = ((FrozenVertex) v).getUnderlying();
        }
        return !(v instanceof LayerVertex) || ((LayerVertex) v).getLayerConf().isMiniBatch();
    }

    /** Rejects layers whose options change what the graph must compute but are not converted. */
    void requireNoWeightNoise(Layer layer) {
        if (layer instanceof BaseLayer && ((BaseLayer) layer).getWeightNoise() != null) {
            throw unsupported("weight noise (" + ((BaseLayer) layer).getWeightNoise() + ")",
                    List.of("layers without weight noise"));
        }
    }

    /** {@return true while the converters are applied again in a functional call ({@code NetworkConversion})} */
    boolean replays() {
        return conversion.replays();
    }

    /**
     * {@return true in a functional call in DL4J's training mode ({@code NetworkConversion.training}), outside
     * frozen layers}
     */
    boolean training() {
        return conversion.training && !inference;
    }

    /** An exception naming this vertex or layer, what is not supported and what is. */
    UnsupportedLayerException unsupported(String what, Collection<String> supported) {
        return new UnsupportedLayerException(String.format(Locale.ROOT, "%s uses %s, which cannot be converted. "
                + "Supported: %s.", describe(), what, String.join(", ", supported)));
    }

    /**
     * An exception naming this vertex or layer, then {@code problem}: a sentence that says what went wrong and what
     * to do ("Layer 1 (MyLayer) cannot be converted: ..."); {@code cause}, if not null, is attached.
     */
    UnsupportedLayerException cannotConvert(String problem, Throwable cause) {
        UnsupportedLayerException e = new UnsupportedLayerException(describe() + " cannot be converted: " + problem);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /**
     * {@return how messages name this vertex or layer: {@code Layer 3 (DenseLayer "hidden")},
     * {@code Vertex "conv1" (LayerVertex)}}
     */
    String describe() {
        String description = node.describe(configuration);
        if (node.layerIndex() >= 0 && configuration instanceof Layer) {
            String name = ((Layer) configuration).getLayerName();
            if (name != null && !name.equals(node.name())) {       // DL4J's default names add nothing
                description = description.substring(0, description.length() - 1) + " \"" + name + "\")";
            }
        }
        return description;
    }
}
