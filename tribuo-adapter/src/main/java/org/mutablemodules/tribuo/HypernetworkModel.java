package org.mutablemodules.tribuo;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.DoubleProvenance;
import com.oracle.labs.mlrg.olcut.util.Pair;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.tribuo.protos.HypernetworkModelProto;
import org.mutablemodules.tribuo.protos.TensorProto;
import org.nd4j.linalg.activations.Activation;
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
 * A Tribuo {@link org.tribuo.Model} whose network weights depend on each example's context features: made by
 * {@link HypernetworkTrainer}. Every example is predicted with the weights the hypernetwork generates from its own
 * context (batches mix contexts), and {@link #specialize(Map)} bakes one context's weights into a plain
 * {@link MutableNetworkModel} with a plain DL4J network.
 *
 * <p>Serialization goes through Tribuo's protobuf path, storing the target's configuration JSON, its parameters and
 * the hypernetwork's arrays as bytes (see {@link MutableNetworkModel}).
 *
 * <p>Predictions are thread-safe: one batch runs at a time.
 *
 * @param <T> the output type
 */
public final class HypernetworkModel<T extends Output<T>> extends AbstractNetworkModel<T> {
    private static final long serialVersionUID = 1L;

    /** The protobuf serialization version. */
    public static final int CURRENT_VERSION = 0;

    /** The name of the provenance entry of a specialised model that holds the context's values. */
    public static final String SPECIALISED_CONTEXT = "specialised-context";

    /** The target network's DL4J configuration, as JSON. */
    private final String configurationJson;
    /** The names of the context features, in the hypernetwork's input order. */
    private final List<String> contextFeatures;
    /** The target's parameters the hypernetwork generates, by DL4J network-level key. */
    private final List<String> generatedKeys;
    /** Whether the hypernetwork generates residuals added to trained bases (else the whole parameters). */
    private final boolean residual;
    /** The hypernetwork's hidden layer sizes. */
    private final int[] hiddenSizes;
    /** The hypernetwork's hidden activation, as DL4J names it. */
    private final String hiddenActivation;
    /** The target's flat parameter vector as trained (DL4J's order). */
    private final double[] targetParameters;
    /** The hypernetwork's parameter values, by name. */
    private final LinkedHashMap<String, double[]> hyperValues;
    /** The hypernetwork's parameter shapes, by name. */
    private final LinkedHashMap<String, long[]> hyperShapes;
    /** Per regression dimension: the mean subtracted from the targets in training; null if not standardised. */
    private final double[] targetMeans;
    /** Per regression dimension: the scale the targets were divided by in training; null if not standardised. */
    private final double[] targetScales;

    private transient HyperGraph graph;

    HypernetworkModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureIDMap,
                      ImmutableOutputInfo<T> outputIDInfo, OutputKind outputKind, HyperGraph.Spec spec,
                      List<String> contextFeatures, INDArray targetParameters, Map<String, INDArray> hyper,
                      Standardisation standardisation, int batchSize) {
        super(name, provenance, featureIDMap, outputIDInfo, outputKind, batchSize);
        this.configurationJson = spec.target.json();
        this.contextFeatures = List.copyOf(contextFeatures);
        this.generatedKeys = spec.generatedKeys;
        this.residual = spec.residual;
        this.hiddenSizes = spec.hiddenSizes.clone();
        this.hiddenActivation = spec.hiddenActivation.name();
        this.targetParameters = toDoubles(targetParameters);
        this.hyperValues = new LinkedHashMap<>();
        this.hyperShapes = new LinkedHashMap<>();
        hyper.forEach((key, value) -> {
            hyperValues.put(key, toDoubles(value));
            hyperShapes.put(key, value.shape());
        });
        this.targetMeans = standardisation == null ? null : standardisation.means.clone();
        this.targetScales = standardisation == null ? null : standardisation.scales.clone();
    }

    private static double[] toDoubles(INDArray array) {
        return array.castTo(DataType.DOUBLE).dup('c').reshape(array.length()).toDoubleVector();
    }

    /**
     * Reads a model written by {@link #serialize()}; called by Tribuo's {@code Model.deserialize} and
     * {@code Model.deserializeFromFile}.
     *
     * @param version   the serialized version, at most {@link #CURRENT_VERSION}
     * @param className this class's name
     * @param message   the serialized {@link HypernetworkModelProto}
     * @return the model
     * @throws InvalidProtocolBufferException if {@code message} is not a {@code HypernetworkModelProto}
     * @throws IllegalArgumentException       if {@code version} is unknown
     * @throws IllegalStateException          if the proto is inconsistent
     */
    public static HypernetworkModel<?> deserializeFromProto(int version, String className, Any message)
            throws InvalidProtocolBufferException {
        if (version < 0 || version > CURRENT_VERSION) {
            throw new IllegalArgumentException("Unknown version " + version + ", this class supports at most version "
                    + CURRENT_VERSION + ".");
        }
        HypernetworkModelProto proto = message.unpack(HypernetworkModelProto.class);
        ModelDataCarrier<?> carrier = ModelDataCarrier.deserialize(ModelDataProto.parseFrom(proto.getMetadata()));
        OutputKind kind = kindOf(proto.getOutputKind(), carrier);
        NetworkSpec target = NetworkSpec.parse(proto.getConfigurationJson());
        HyperGraph.Spec spec = new HyperGraph.Spec(target, proto.getContextFeaturesCount(),
                proto.getGeneratedKeysList(), "RESIDUAL".equals(proto.getGeneration()),
                proto.getHiddenSizesList().stream().mapToInt(Integer::intValue).toArray(),
                Activation.valueOf(proto.getHiddenActivation()));
        Map<String, INDArray> hyper = new LinkedHashMap<>();
        for (Map.Entry<String, TensorProto> e : proto.getHypernetworkMap().entrySet()) {
            hyper.put(e.getKey(), Tensors.fromProto(e.getValue()));
        }
        Standardisation standardisation = proto.getTargetMeansCount() == 0 ? null : new Standardisation(
                proto.getTargetMeansList().stream().mapToDouble(Double::doubleValue).toArray(),
                proto.getTargetScalesList().stream().mapToDouble(Double::doubleValue).toArray());
        HypernetworkModel<?> model = create(carrier, kind, spec, proto.getContextFeaturesList(),
                Tensors.fromProto(proto.getTargetParameters()), hyper, standardisation, proto.getBatchSize());
        model.graph();
        return model;
    }

    private static <U extends Output<U>> HypernetworkModel<U> create(ModelDataCarrier<U> carrier, OutputKind kind,
                                                                     HyperGraph.Spec spec, List<String> context,
                                                                     INDArray target, Map<String, INDArray> hyper,
                                                                     Standardisation standardisation, int batchSize) {
        return new HypernetworkModel<>(carrier.name(), carrier.provenance(), carrier.featureDomain(),
                carrier.outputDomain(), kind, spec, context, target, hyper, standardisation, batchSize);
    }

    /** {@return the names of the context features, in the order the hypernetwork reads them (sorted)} */
    public List<String> contextFeatures() {
        return contextFeatures;
    }

    /** {@return the DL4J network-level keys of the generated parameters ({@code 0_W}, {@code 1_b}, ...)} */
    public List<String> generatedParameters() {
        return generatedKeys;
    }

    /**
     * A plain model for one context: the target network with the weights the hypernetwork generates for
     * {@code context} baked in (a {@code MultiLayerNetwork}, see {@link MutableNetworkModel#toMultiLayerNetwork()}).
     * Its predictions equal this model's for examples with that context; its provenance is this model's, with the
     * context recorded under {@value #SPECIALISED_CONTEXT} (and any target standardisation).
     *
     * @param context a value for every context feature ({@link #contextFeatures()}); other names are ignored
     * @return the specialised model, which knows the non-context features only
     * @throws IllegalArgumentException if a context feature is missing; the message names it and the expected ones
     */
    public MutableNetworkModel<T> specialize(Map<String, Double> context) {
        Set<String> missing = new TreeSet<>(contextFeatures);
        missing.removeAll(context.keySet());
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(Messages.format(Messages.MISSING_CONTEXT, missing, contextFeatures));
        }
        double[] values = new double[contextFeatures.size()];
        Map<String, Provenance> recorded = new LinkedHashMap<>(provenance.getInstanceProvenance().getMap());
        List<DoubleProvenance> list = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            values[i] = context.get(contextFeatures.get(i));
            list.add(new DoubleProvenance(contextFeatures.get(i), values[i]));
        }
        recorded.put(SPECIALISED_CONTEXT, new ListProvenance<>(list));
        MultiLayerNetwork baked;
        synchronized (this) {
            HyperGraph g = graph();
            baked = g.bake(Nd4j.createFromArray(values).reshape(1, values.length).castTo(g.spec.target.dataType()));
        }
        if (targetMeans != null) {
            graph().spec.target.foldStandardisation(baked, targetMeans, targetScales);
        }
        ModelProvenance specialised = new ModelProvenance(MutableNetworkModel.class.getName(), OffsetDateTime.now(),
                provenance.getDatasetProvenance(), provenance.getTrainerProvenance(), recorded);
        return new MutableNetworkModel<>(name + "-specialised", specialised, inputFeatureMap(), outputIDInfo,
                outputKind, configurationJson, baked.params(), batchSize);
    }

    /** The feature map of the non-context features, numbered as the target network reads them. */
    private ImmutableFeatureMap inputFeatureMap() {
        org.tribuo.MutableFeatureMap inputs = new org.tribuo.MutableFeatureMap();
        Set<String> context = new TreeSet<>(contextFeatures);
        for (int id = 0; id < featureIDMap.size(); id++) {
            String feature = featureIDMap.get(id).getName();
            if (!context.contains(feature)) {
                inputs.add(feature, 0.0);
            }
        }
        return new ImmutableFeatureMap(inputs);
    }

    @Override
    NetworkSpec lossNetwork() {
        return graph().spec.target;
    }

    @Override
    FeatureMatrix matrix(List<Example<T>> batch) {
        FeatureMatrix.Columns columns = FeatureMatrix.Columns.split(featureIDMap, new TreeSet<>(contextFeatures));
        return FeatureMatrix.of(batch, featureIDMap, columns, graph().spec.target.dataType());
    }

    @Override
    synchronized INDArray run(FeatureMatrix m) {
        INDArray p = graph().predict(m.blocks[0], m.blocks[1]);
        return targetMeans == null ? p : new Standardisation(targetMeans, targetScales).undo(p);
    }

    /**
     * Feature importances: under {@link #ALL_OUTPUTS} the non-context features, by the L2 norm of their row of the
     * target's first weight matrix (its base when residual; omitted when that matrix is fully generated); under
     * {@code "CONTEXT"} the context features, by the L2 norm of their row of the hypernetwork's first weight matrix.
     *
     * @param n the number of features per list; all when negative
     */
    @Override
    public Map<String, List<Pair<String, Double>>> getTopFeatures(int n) {
        FeatureMatrix.Columns columns = FeatureMatrix.Columns.split(featureIDMap, new TreeSet<>(contextFeatures));
        int[] inputIds = new int[columns.widths[0]];
        int[] contextIds = new int[columns.widths[1]];
        for (int id = 0; id < featureIDMap.size(); id++) {
            (columns.block[id] == 0 ? inputIds : contextIds)[columns.column[id]] = id;
        }
        Map<String, List<Pair<String, Double>>> top = new HashMap<>();
        String firstKey = hiddenSizes.length > 0 ? "hyper/layer0/W" : null;
        if (firstKey != null) {
            INDArray w = Nd4j.createFromArray(hyperValues.get(firstKey)).reshape('c', hyperShapes.get(firstKey));
            top.put("CONTEXT", MutableNetworkModel.topRows(w, featureIDMap, contextIds, n));
        }
        if (residual || !generatedKeys.contains("0_W")) {
            INDArray w = graph().target.getParam("0_W");
            if (w != null && w.rank() == 2 && w.size(0) == inputIds.length) {
                top.put(ALL_OUTPUTS, MutableNetworkModel.topRows(w, featureIDMap, inputIds, n));
            }
        }
        return top;
    }

    /** No excuses: a neural network has no cheap explanation of one prediction. */
    @Override
    public Optional<Excuse<T>> getExcuse(Example<T> example) {
        return Optional.empty();
    }

    @Override
    protected HypernetworkModel<T> copy(String newName, ModelProvenance newProvenance) {
        return new HypernetworkModel<>(newName, newProvenance, featureIDMap, outputIDInfo, outputKind, spec(),
                contextFeatures, Nd4j.createFromArray(targetParameters.clone()), hyperArrays(), standardisation(),
                batchSize);
    }

    @Override
    public ModelProto serialize() {
        ModelDataCarrier<T> carrier = createDataCarrier();
        DataType type = spec().target.dataType();
        HypernetworkModelProto.Builder b = HypernetworkModelProto.newBuilder()
                .setMetadata(carrier.serialize().toByteString())
                .setOutputKind(outputKind.name())
                .setConfigurationJson(configurationJson)
                .setTargetParameters(Tensors.toProto(Nd4j.createFromArray(targetParameters).castTo(type)))
                .addAllContextFeatures(contextFeatures)
                .addAllGeneratedKeys(generatedKeys)
                .setGeneration(residual ? "RESIDUAL" : "FULL")
                .setHiddenActivation(hiddenActivation)
                .setBatchSize(batchSize);
        for (int h : hiddenSizes) {
            b.addHiddenSizes(h);
        }
        hyperArrays().forEach((key, value) -> b.putHypernetwork(key, Tensors.toProto(value.castTo(type))));
        if (targetMeans != null) {
            for (int j = 0; j < targetMeans.length; j++) {
                b.addTargetMeans(targetMeans[j]).addTargetScales(targetScales[j]);
            }
        }
        return ModelProto.newBuilder()
                .setVersion(CURRENT_VERSION)
                .setClassName(HypernetworkModel.class.getName())
                .setSerializedData(Any.pack(b.build()))
                .build();
    }

    private HyperGraph.Spec spec() {
        return new HyperGraph.Spec(NetworkSpec.parse(configurationJson), contextFeatures.size(), generatedKeys,
                residual, hiddenSizes, Activation.valueOf(hiddenActivation));
    }

    private Map<String, INDArray> hyperArrays() {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        hyperValues.forEach((key, values) -> arrays.put(key,
                Nd4j.createFromArray(values).reshape('c', hyperShapes.get(key))));
        return arrays;
    }

    private Standardisation standardisation() {
        return targetMeans == null ? null : new Standardisation(targetMeans, targetScales);
    }

    private synchronized HyperGraph graph() {
        if (graph == null) {
            HyperGraph.Spec spec = spec();
            MultiLayerNetwork target = (MultiLayerNetwork) spec.target.network(
                    Nd4j.createFromArray(targetParameters));
            graph = HyperGraph.build(spec, target, hyperArrays(), null);
        }
        return graph;
    }
}
