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
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Prediction;
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
public final class MutableNetworkModel<T extends Output<T>> extends org.tribuo.Model<T> {
    private static final long serialVersionUID = 1L;

    /** The protobuf serialization version. */
    public static final int CURRENT_VERSION = 0;

    private final OutputKind outputKind;
    private final String configurationJson;
    private final double[] parameters;
    private final int batchSize;

    private transient NetworkSpec spec;
    private transient Model network;

    MutableNetworkModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureIDMap,
                        ImmutableOutputInfo<T> outputIDInfo, OutputKind outputKind, String configurationJson,
                        INDArray parameters, int batchSize) {
        super(name, provenance, featureIDMap, outputIDInfo, outputKind == OutputKind.LABEL);
        this.outputKind = outputKind;
        this.configurationJson = configurationJson;
        this.parameters = parameters.castTo(DataType.DOUBLE).reshape(parameters.length()).toDoubleVector();
        this.batchSize = batchSize;
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

    /** The output kind named in a proto, checked against the carrier's output domain. */
    static OutputKind kindOf(String name, ModelDataCarrier<?> carrier) {
        OutputKind kind;
        try {
            kind = OutputKind.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Invalid protobuf: unknown output kind " + name + ".", e);
        }
        Object first = carrier.outputDomain().getDomain().iterator().next();
        if (!kind.outputClass().isInstance(first)) {
            throw new IllegalStateException("Invalid protobuf: output kind " + kind + " but an output domain of "
                    + first.getClass().getSimpleName() + ".");
        }
        return kind;
    }

    /** The kind of output this model predicts. */
    public OutputKind outputKind() {
        return outputKind;
    }

    /** True when the network is a {@code ComputationGraph} (see {@link #toComputationGraph()}). */
    public boolean isComputationGraph() {
        return spec().isGraph();
    }

    /**
     * A copy of the trained network, a plain {@code MultiLayerNetwork}: {@code net.output(x)} for a
     * {@code [N, features]} array in Tribuo's feature id order gives the {@code [N, outputs]} predictions (label
     * probabilities by label id; regression values in natural order, in the targets' own units).
     *
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
     * @throws IllegalStateException if the network is a {@code MultiLayerNetwork}
     */
    public ComputationGraph toComputationGraph() {
        if (!spec().isGraph()) {
            throw new IllegalStateException("This model's network is a MultiLayerNetwork: use toMultiLayerNetwork().");
        }
        return (ComputationGraph) spec().network(parameterArray());
    }

    /**
     * The network's loss on {@code data}, as the configuration defines it (DL4J's score, example-weighted: the
     * weighted mean of the per-example losses), computed from this model's predictions; regression losses are in
     * the targets' own units.
     *
     * @param data examples whose outputs this model knows
     * @return the loss
     * @throws IllegalArgumentException if an example's output was never seen by the model (the message names the
     *                                  outputs it knows), or an example has no feature the model knows
     */
    public double loss(Dataset<T> data) {
        List<Example<T>> list = new ArrayList<>();
        data.forEach(list::add);
        @SuppressWarnings("unchecked")
        OutputConverter<T> converter = (OutputConverter<T>) outputKind.converter();
        INDArray y = converter.targets(list, outputIDInfo, DataType.DOUBLE);
        INDArray p = outputs(list).castTo(DataType.DOUBLE);
        return WeightedLosses.evaluate(spec().loss(outputKind), p, y, AbstractNetworkTrainer.exampleWeights(list));
    }

    @Override
    public Prediction<T> predict(Example<T> example) {
        return innerPredict(List.of(example)).get(0);
    }

    @Override
    protected List<Prediction<T>> innerPredict(Iterable<Example<T>> examples) {
        @SuppressWarnings("unchecked")
        OutputConverter<T> converter = (OutputConverter<T>) outputKind.converter();
        return Batches.predict(examples, batchSize, batch -> {
            FeatureMatrix m = matrix(batch);
            return converter.predictions(run(m.blocks[0]), batch, m.numUsed, outputIDInfo);
        });
    }

    private INDArray outputs(List<Example<T>> list) {
        return run(matrix(list).blocks[0]);
    }

    private FeatureMatrix matrix(List<Example<T>> list) {
        return FeatureMatrix.of(list, featureIDMap, FeatureMatrix.Columns.allInputs(featureIDMap), spec().dataType());
    }

    private synchronized INDArray run(INDArray x) {
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
