package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
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
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaVertex;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The registry of graph vertex converters: one line per supported DL4J vertex class (matched exactly), and one per
 * base class of the vertices users write in SameDiff (matched by subclass, for classes outside DL4J; DL4J's own
 * {@code AttentionVertex} through its {@code defineVertex}, as theirs). A layer is a {@link LayerVertex}, whose
 * converter applies the
 * pre-processor and then the layer's own converter.
 */
final class VertexConverters {

    private static final Map<Class<? extends GraphVertex>, VertexConverter<? extends GraphVertex>> CONVERTERS =
            new LinkedHashMap<>();

    static {
        register(LayerVertex.class, GraphVertexConverters.LAYER);
        register(FrozenVertex.class, GraphVertexConverters.FROZEN);
        register(MergeVertex.class, GraphVertexConverters.MERGE);
        register(ElementWiseVertex.class, GraphVertexConverters.ELEMENT_WISE);
        register(ScaleVertex.class, GraphVertexConverters.SCALE);
        register(ShiftVertex.class, GraphVertexConverters.SHIFT);
        register(L2NormalizeVertex.class, GraphVertexConverters.L2_NORMALIZE);
        register(L2Vertex.class, GraphVertexConverters.L2);
        register(SubsetVertex.class, GraphVertexConverters.SUBSET);
        register(StackVertex.class, GraphVertexConverters.STACK);
        register(UnstackVertex.class, GraphVertexConverters.UNSTACK);
        register(PreprocessorVertex.class, GraphVertexConverters.PREPROCESSOR);
        register(ReshapeVertex.class, GraphVertexConverters.RESHAPE);
        register(PoolHelperVertex.class, GraphVertexConverters.POOL_HELPER);
        register(LastTimeStepVertex.class, GraphVertexConverters.LAST_TIME_STEP);
        register(DuplicateToTimeSeriesVertex.class, GraphVertexConverters.DUPLICATE_TO_TIME_SERIES);
        register(AttentionVertex.class, CustomLayerConverters.SAME_DIFF_VERTEX);     // DL4J's own SameDiffVertex
    }

    private static final Map<Class<? extends GraphVertex>, VertexConverter<? extends GraphVertex>>
            SUBCLASS_CONVERTERS = new LinkedHashMap<>();

    static {
        registerSubclasses(SameDiffVertex.class, CustomLayerConverters.SAME_DIFF_VERTEX);   // SameDiffLambdaVertex too
    }

    /** The vertices a features mask may reach: the layer converters and pre-processors deal with it. */
    private static final java.util.Set<Class<? extends GraphVertex>> TAKE_MASKS = java.util.Set.of(LayerVertex.class,
            FrozenVertex.class, PreprocessorVertex.class, LastTimeStepVertex.class, AttentionVertex.class);
    /** Vertices that pass their input's mask on, as DL4J's. */
    private static final java.util.Set<Class<? extends GraphVertex>> PASS_MASK = java.util.Set.of(ScaleVertex.class,
            ShiftVertex.class);
    /**
     * Vertices whose mask is every input's mask or-ed, or none if an input has none, as DL4J's. MergeVertex too, when
     * it merges along the features (DL4J or-s its masks also where it merges along the time axis, which changes the
     * series' length: refused).
     */
    private static final java.util.Set<Class<? extends GraphVertex>> OR_MASKS = java.util.Set.of(
            ElementWiseVertex.class, MergeVertex.class);

    private VertexConverters() {
    }

    private static <V extends GraphVertex> void register(Class<V> type, VertexConverter<? super V> converter) {
        CONVERTERS.put(type, converter);
    }

    private static <V extends GraphVertex> void registerSubclasses(Class<V> base,
                                                                   VertexConverter<? super V> converter) {
        SUBCLASS_CONVERTERS.put(base, converter);
    }

    /** The simple names of the supported vertex classes, then the base classes of users' own SameDiff vertices. */
    static List<String> supported() {
        List<String> names = new ArrayList<>();
        for (Class<?> c : CONVERTERS.keySet()) {
            names.add(c.getSimpleName());
        }
        names.add("subclasses of " + SameDiffVertex.class.getSimpleName() + " and "
                + SameDiffLambdaVertex.class.getSimpleName());
        return Collections.unmodifiableList(names);
    }

    /** Converts {@code vertex}, or throws {@link org.mutablemodules.dl4j.UnsupportedLayerException}. */
    @SuppressWarnings("unchecked")
    static LayerOutput convert(ConversionContext ctx, GraphVertex vertex, List<LayerOutput> inputs) {
        VertexConverter<GraphVertex> converter = (VertexConverter<GraphVertex>) CONVERTERS.get(vertex.getClass());
        if (converter == null && CustomLayerConverters.isUserWritten(vertex.getClass())) {
            converter = (VertexConverter<GraphVertex>) SUBCLASS_CONVERTERS.entrySet().stream()
                    .filter(e -> e.getKey().isInstance(vertex)).map(Map.Entry::getValue).findFirst().orElse(null);
        }
        if (converter == null) {
            if (CustomLayerConverters.isUserWritten(vertex.getClass())) {
                throw ctx.cannotConvert(CustomLayerConverters.javaVertexProblem(vertex.getClass()), null);
            }
            throw ctx.unsupported("the vertex type " + vertex.getClass().getName(), supported());
        }
        if (inputs.stream().noneMatch(in -> in.mask() != null) || TAKE_MASKS.contains(vertex.getClass())) {
            return converter.convert(ctx, vertex, inputs);
        }
        if (PASS_MASK.contains(vertex.getClass())) {
            return converter.convert(ctx, vertex, inputs).withMask(inputs.get(0).mask());
        }
        if (vertex instanceof StackVertex) {
            // DL4J stacks the masks with the examples; it fails when only some inputs have one
            if (inputs.stream().anyMatch(in -> in.mask() == null)) {
                throw ctx.unsupported("a stack of masked and unmasked series",
                        List.of("StackVertex of series that all have a mask"));
            }
            SDVariable[] masks = inputs.stream().map(LayerOutput::mask).toArray(SDVariable[]::new);
            return converter.convert(ctx, vertex, inputs)
                    .withMask(masks.length == 1 ? masks[0] : ctx.sd().concat(0, masks));
        }
        if (vertex instanceof UnstackVertex u) {
            // the same part of the stacked masks as of the examples
            return converter.convert(ctx, vertex, inputs)
                    .withMask(GraphVertexConverters.unstacked(ctx, u, inputs.get(0).mask(), 2));
        }
        if (vertex instanceof MergeVertex) {
            int axis = ((MergeVertex) vertex).getMergeAxis();
            for (LayerOutput in : inputs) {
                if (in.rank() != 3 || in.mask() == null) {
                    continue;           // rows (rank 2) merge along their features; an unmasked series leaves none
                }
                int time = SequenceMasks.timeAxis(ctx, in);
                if (time < 0 || time == axis) {
                    throw ctx.unsupported("a merge of masked series along axis " + axis + (time == axis
                            ? ", their time axis" : ", which may be their time axis"),
                            List.of("MergeVertex along the features of masked series"));
                }
            }
        }
        if (OR_MASKS.contains(vertex.getClass())) {
            SDVariable mask = null;
            for (LayerOutput in : inputs) {
                if (in.mask() == null) {
                    mask = null;
                    break;
                }
                mask = mask == null ? in.mask() : ctx.sd().math().max(mask, in.mask());
            }
            return converter.convert(ctx, vertex, inputs).withMask(mask);
        }
        throw SequenceMasks.refused(ctx);
    }
}
