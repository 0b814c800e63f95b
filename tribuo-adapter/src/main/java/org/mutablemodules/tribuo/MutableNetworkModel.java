package org.mutablemodules.tribuo;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.oracle.labs.mlrg.olcut.util.Pair;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.tribuo.protos.MutableNetworkModelProto;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.impl.ModelDataCarrier;
import org.tribuo.protos.core.ModelDataProto;
import org.tribuo.protos.core.ModelProto;
import org.tribuo.provenance.ModelProvenance;

/**
 * A Tribuo {@link org.tribuo.Model} holding a trained DL4J network, made by {@link MutableNetworkTrainer} (or by
 * {@link HypernetworkModel#specialize}).
 *
 * <p>Predictions run in batches of examples through a plain DL4J network: each batch is a {@code [N, features]}
 * array in Tribuo's feature id order (sorted feature names; a missing feature is 0), and the network's
 * {@code [N, outputs]} output becomes one prediction per example (with every label's probability for
 * classification). The network is available as a plain {@code MultiLayerNetwork} or {@code ComputationGraph}
 * ({@link #toMultiLayerNetwork()}, {@link #toComputationGraph()}).
 *
 * <p><b>Serialization</b> goes through Tribuo's protobuf path ({@link #serialize()},
 * {@link #deserializeFromProto}, so {@code Model.serializeToFile} / {@code Model.deserializeFromFile}): the model
 * stores the DL4J configuration's JSON and the parameters as little-endian bytes, no Java serialization of ND4J
 * objects. Java serialization of the model itself (Tribuo's deprecated path) holds only strings and primitive
 * arrays for the same reason.
 *
 * <p>Predictions are thread-safe: one batch runs at a time.
 *
 * @param <T> the output type
 */
public final class MutableNetworkModel<T extends Output<T>> extends AbstractNetworkModel<T> {
    private static final long serialVersionUID = 1L;

    /** The protobuf serialization version. */
    public static final int CURRENT_VERSION = 0;

    /** The network's DL4J configuration, as JSON. */
    private final String configurationJson;
    /** The network's flat parameter vector as trained (DL4J's order). */
    private final double[] parameters;

    private transient NetworkSpec spec;
    private transient Model network;

    MutableNetworkModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureIDMap,
                        ImmutableOutputInfo<T> outputIDInfo, OutputKind outputKind, String configurationJson,
                        INDArray parameters, int batchSize) {
        super(name, provenance, featureIDMap, outputIDInfo, outputKind, batchSize);
        this.configurationJson = configurationJson;
        this.parameters = parameters.castTo(DataType.DOUBLE).reshape(parameters.length()).toDoubleVector();
    }

    /**
     * Reads a model written by {@link #serialize()}; called by Tribuo's {@code Model.deserialize} and
     * {@code Model.deserializeFromFile}.
     *
     * @param version   the serialized version, at most {@link #CURRENT_VERSION}
     * @param className this class's name
     * @param message   the serialized {@link MutableNetworkModelProto}
     * @return the model
     * @throws InvalidProtocolBufferException if {@code message} is not a {@code MutableNetworkModelProto}
     * @throws IllegalArgumentException       if {@code version} is unknown
     * @throws IllegalStateException          if the proto is inconsistent (output domain of another kind, parameter
     *                                        count not the network's)
     */
    public static MutableNetworkModel<?> deserializeFromProto(int version, String className, Any message)
            throws InvalidProtocolBufferException {
        if (version < 0 || version > CURRENT_VERSION) {
            throw new IllegalArgumentException("Unknown version " + version + ", this class supports at most version "
                    + CURRENT_VERSION + ".");
        }
        MutableNetworkModelProto proto = message.unpack(MutableNetworkModelProto.class);
        ModelDataCarrier<?> carrier = ModelDataCarrier.deserialize(ModelDataProto.parseFrom(proto.getMetadata()));
        OutputKind kind = kindOf(proto.getOutputKind(), carrier);
        INDArray parameters = Tensors.fromProto(proto.getParameters());
        NetworkSpec spec = NetworkSpec.parse(proto.getConfigurationJson());
        return create(carrier, kind, spec, parameters, proto.getBatchSize());
    }

    private static <U extends Output<U>> MutableNetworkModel<U> create(ModelDataCarrier<U> carrier, OutputKind kind,
                                                                       NetworkSpec spec, INDArray parameters,
                                                                       int batchSize) {
        MutableNetworkModel<U> model = new MutableNetworkModel<>(carrier.name(), carrier.provenance(),
                carrier.featureDomain(), carrier.outputDomain(), kind, spec.json(), parameters, batchSize);
        long expected = model.network().numParams();
        if (expected != parameters.length()) {
            throw new IllegalStateException("Invalid protobuf: " + parameters.length() + " parameters for a network "
                    + "of " + expected + ".");
        }
        return model;
    }

    /** {@return true when the network is a {@code ComputationGraph} (see {@code #toComputationGraph()})} */
    public boolean isComputationGraph() {
        return spec().isGraph();
    }

    /**
     * A copy of the trained network, a plain {@code MultiLayerNetwork}: {@code net.output(x)} for a
     * {@code [N, features]} array in Tribuo's feature id order gives the {@code [N, outputs]} predictions (label
     * probabilities by label id; regression values in natural order, in the targets' own units).
     *
     * @return a copy of the trained network, a plain {@code MultiLayerNetwork}: {@code net.output(x)} for a {@code [N,
     *     features]} array in Tribuo's feature id order gives the {@code [N, outputs]} predictions (label probabilities
     *     by label id; regression values in natural order, in the targets' own units)
     * @throws IllegalStateException if the network is a {@code ComputationGraph}
     */
    public MultiLayerNetwork toMultiLayerNetwork() {
        if (spec().isGraph()) {
            throw new IllegalStateException("This model's network is a ComputationGraph: use toComputationGraph().");
        }
        return (MultiLayerNetwork) spec().network(parameterArray());
    }

    /**
     * A copy of the trained network, a plain {@code ComputationGraph} (see {@link #toMultiLayerNetwork()}).
     *
     * @return a copy of the trained network, a plain {@code ComputationGraph} (see {@code #toMultiLayerNetwork()})
     * @throws IllegalStateException if the network is a {@code MultiLayerNetwork}
     */
    public ComputationGraph toComputationGraph() {
        if (!spec().isGraph()) {
            throw new IllegalStateException("This model's network is a MultiLayerNetwork: use toMultiLayerNetwork().");
        }
        return (ComputationGraph) spec().network(parameterArray());
    }

    @Override
    NetworkSpec lossNetwork() {
        return spec();
    }

    @Override
    FeatureMatrix matrix(List<Example<T>> list) {
        return FeatureMatrix.of(list, featureIDMap, FeatureMatrix.Columns.allInputs(featureIDMap), spec().dataType());
    }

    @Override
    synchronized INDArray run(FeatureMatrix m) {
        INDArray x = m.blocks[0];
        Model net = network();
        if (net instanceof ComputationGraph) {
            return ((ComputationGraph) net).outputSingle(false, x).dup();
        }
        return ((MultiLayerNetwork) net).output(x, false).dup();
    }

    /**
     * Feature importances from the first layer's weights: for each feature, the L2 norm of its row of the weight
     * matrix of the layer that reads the input (how strongly the feature feeds the network; unsigned, for all outputs
     * together, under the key {@link #ALL_OUTPUTS}).
     *
     * @param n the number of features to return; all when negative
     * @return {@code ALL_OUTPUTS} mapped to (feature name, norm) pairs, largest first; empty if the first layer has
     * no {@code [features, units]} weight matrix
     */
    @Override
    public Map<String, List<Pair<String, Double>>> getTopFeatures(int n) {
        INDArray w = firstLayerWeights();
        if (w == null || w.rank() != 2 || w.size(0) != featureIDMap.size()) {
            return Map.of();
        }
        return Map.of(ALL_OUTPUTS, topRows(w, featureIDMap, null, n));
    }

    /** (feature name, row norm) pairs of {@code w}, largest first; row {@code r} is feature id {@code ids[r]}. */
    static List<Pair<String, Double>> topRows(INDArray w, ImmutableFeatureMap features, int[] ids, int n) {
        double[] norms = w.castTo(DataType.DOUBLE).norm2(1).toDoubleVector();
        List<Pair<String, Double>> list = new ArrayList<>();
        for (int r = 0; r < norms.length; r++) {
            list.add(new Pair<>(features.get(ids == null ? r : ids[r]).getName(), norms[r]));
        }
        list.sort(Comparator.comparingDouble((Pair<String, Double> p) -> p.getB()).reversed());
        return n < 0 || n >= list.size() ? list : new ArrayList<>(list.subList(0, n));
    }

    private INDArray firstLayerWeights() {
        Model net = network();
        if (net instanceof MultiLayerNetwork) {
            return ((MultiLayerNetwork) net).getLayerWiseConfigurations().getInputPreProcess(0) == null
                    ? net.getParam("0_W") : null;
        }
        ComputationGraph graph = (ComputationGraph) net;
        String input = graph.getConfiguration().getNetworkInputs().get(0);
        for (Map.Entry<String, List<String>> e : graph.getConfiguration().getVertexInputs().entrySet()) {
            if (e.getValue().contains(input) && graph.getVertex(e.getKey()).hasLayer()) {
                return graph.getVertex(e.getKey()).paramTable(false).get("W");
            }
        }
        return null;
    }

    /** No excuses: a neural network has no cheap explanation of one prediction. */
    @Override
    public Optional<Excuse<T>> getExcuse(Example<T> example) {
        return Optional.empty();
    }

    @Override
    protected MutableNetworkModel<T> copy(String newName, ModelProvenance newProvenance) {
        return new MutableNetworkModel<>(newName, newProvenance, featureIDMap, outputIDInfo, outputKind,
                configurationJson, Nd4j.createFromArray(parameters.clone()), batchSize);
    }

    @Override
    public ModelProto serialize() {
        ModelDataCarrier<T> carrier = createDataCarrier();
        MutableNetworkModelProto data = MutableNetworkModelProto.newBuilder()
                .setMetadata(carrier.serialize().toByteString())
                .setOutputKind(outputKind.name())
                .setConfigurationJson(configurationJson)
                .setComputationGraph(spec().isGraph())
                .setParameters(Tensors.toProto(parameterArray().castTo(spec().dataType())))
                .setBatchSize(batchSize)
                .build();
        return ModelProto.newBuilder()
                .setVersion(CURRENT_VERSION)
                .setClassName(MutableNetworkModel.class.getName())
                .setSerializedData(Any.pack(data))
                .build();
    }

    private INDArray parameterArray() {
        return Nd4j.createFromArray(parameters);
    }

    private synchronized NetworkSpec spec() {
        if (spec == null) {
            spec = NetworkSpec.parse(configurationJson);
        }
        return spec;
    }

    private synchronized Model network() {
        if (network == null) {
            network = spec().network(parameterArray());
        }
        return network;
    }
}
