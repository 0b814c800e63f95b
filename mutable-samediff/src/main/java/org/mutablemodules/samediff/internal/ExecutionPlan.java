package org.mutablemodules.samediff.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.common.primitives.Pair;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseOp;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.RandomOp;
import org.nd4j.linalg.api.ops.ReduceOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.custom.Invoke;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.BaseCompatOp;
import org.nd4j.linalg.api.ops.impl.layers.ExternalErrorsFunction;
import org.nd4j.linalg.api.ops.impl.shape.CreateView;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.shape.tensorops.BaseTensorOp;
import org.nd4j.linalg.api.ops.impl.transforms.Assert;
import org.nd4j.linalg.api.ops.impl.transforms.gradient.GradientBackwardsMarker;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Assign;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A graph's computation of some variables, compiled once: the ops it needs in a fixed order, every variable in an
 * integer slot, one {@link OpContext} per op with the op's integer, floating-point, boolean and type arguments set
 * once. A call binds the fed placeholders and the current arrays of the graph's variables and constants, then runs
 * each op with SameDiff's own executioner, so the kernels and the results are those of SameDiff's
 * {@code InferenceSession} (it mirrors the session's handling of custom and legacy ops, axes and scalars held in
 * arrays, output types, identity pass-through and assignment) without the session's per-call work: no subgraph
 * search, no name lookups per op, no dependency tracking.
 *
 * <p>Output shapes are computed, and buffers allocated, only when the shapes or types of the inputs change (their
 * <em>signature</em>), and for ops whose output shape depends on input values (a shape computed from a
 * placeholder, {@code where}, {@code unique} and the like) at every call. The buffers of the last
 * {@value #REMEMBERED_SIGNATURES} signatures are kept, so alternating batch sizes do not allocate at every call.
 * Within one signature, an intermediate's buffer is reused by a later intermediate of the same type and shape once
 * no op reads the first any more. Reshapes of such buffers ({@code reshape} in 'c' order, {@code expand_dims},
 * {@code squeeze}) are views of them, made once per signature, not copies.
 *
 * <p>Results: with {@code ownedResults}, each call returns arrays no later call writes (fresh arrays for computed
 * results, copies of fed or stored ones); without, the plan's own buffers, valid until the next call (for callers
 * that consume them at once, such as a training step), and copies of fed or stored arrays. The graph's variables are read by name at each call, so
 * arrays replaced or changed in place are seen; any change of the graph's structure needs a new plan.
 *
 * <p>Not thread-safe: one caller at a time per plan (build one per concurrent caller). Legacy ops that take their
 * axes or scalar from an array keep them in the op object, which the graph and every plan over it share; those
 * steps run while holding the op's monitor.
 */
public final class ExecutionPlan {

    /** How many input signatures keep their buffers. */
    public static final int REMEMBERED_SIGNATURES = 4;

    /** Ops whose output shape depends on the values of their inputs, not only on their shapes and arguments. */
    private static final Set<String> VALUE_SHAPED = Set.of("Where", "where_np", "unique", "unique_with_counts",
            "boolean_mask", "dynamic_partition", "non_max_suppression", "non_max_suppression_v3",
            "non_max_suppression_overlaps", "listdiff", "choose", "range", "lin_space", "linspace",
            "sequence_mask", "compare_and_bitpack", "bincount");
    /** Ops whose output values depend only on the shapes of their inputs. */
    private static final Set<String> SHAPE_VALUED = Set.of("shape_of", "shapes_of", "size", "rank", "size_at");

    private enum Kind { IDENTITY, ASSIGN, CUSTOM, LEGACY }

    private static final class Step {
        final String name;
        final DifferentialFunction op;
        final Kind kind;
        final int[] in;
        final int[] out;
        final DataType[] outTypes;
        final OpContext ctx;
        /** A legacy reduction whose second input holds the axes. */
        final boolean axesInArray;
        /** A legacy scalar op whose second input holds the scalar. */
        final boolean scalarInArray;
        /** Inputs the context takes (a legacy op's axes or scalar are not context inputs). */
        final int contextInputs;
        /** Whether the output shape must be computed at every call. */
        boolean shapeEachCall;
        boolean emptyReduce;
        final boolean random;
        /** A reshape of a buffer the plan allocated: its output is a view of its input, no copy. */
        boolean view;
        /** The array {@link #viewArray} views; the view is made again when the input is another array. */
        INDArray viewOf;
        INDArray viewArray;

        Step(SameDiffOp sdo, Kind kind, int[] in, int[] out, DataType[] outTypes, OpContext ctx, boolean axes,
             boolean scalar) {
            this.name = sdo.getName();
            this.op = sdo.getOp();
            this.kind = kind;
            this.in = in;
            this.out = out;
            this.outTypes = outTypes;
            this.ctx = ctx;
            this.axesInArray = axes;
            this.scalarInArray = scalar;
            this.random = isRandom(op);
            this.contextInputs = kind == Kind.LEGACY ? (axes || scalar ? 1 : Math.min(2, in.length)) : in.length;
        }
    }

    /** The buffers the plan allocated for one input signature. */
    private static final class Allocation {
        final long[][] shapes;
        final DataType[] types;
        final INDArray[] buffers;

        Allocation(long[][] shapes, DataType[] types, int slots) {
            this.shapes = shapes;
            this.types = types;
            this.buffers = new INDArray[slots];
        }
    }

    private final SameDiff graph;
    private final List<String> outputNames;
    private final int[] outputSlots;
    private final String[] placeholderNames;
    private final int[] placeholderSlots;
    private final DataType[] placeholderTypes;
    private final INDArray[] castBuffers;
    private final String[] storedNames;
    private final int[] storedSlots;
    private final Step[] steps;
    private final INDArray[] slots;
    /** Per slot: the slot whose buffer it is (identity and assignment pass their input on), itself otherwise. */
    private final int[] bufferOwner;
    /** Per owning slot: the last step that reads its buffer; {@code steps.length} if it is a result. */
    private final int[] lastRead;
    /** Per slot: written by a kernel (not passed on by identity or assignment, not fed or stored). */
    private final boolean[] producedByKernel;
    /** Per slot: a kernel-written buffer of a result returned as owned, so a new array at every call. */
    private final boolean[] freshEachCall;
    private final boolean ownedResults;
    private final int randomOps;
    /** Remembered signatures, most recently used first. */
    private final ArrayDeque<Allocation> allocations = new ArrayDeque<>();
    private Allocation current;
    private boolean shareBuffers = true;
    private long allocatingCalls;

    private ExecutionPlan(SameDiff graph, List<String> outputs, boolean ownedResults) {
        this.graph = graph;
        this.outputNames = List.copyOf(outputs);
        this.ownedResults = ownedResults;
        List<SameDiffOp> order = GraphWalk.opsInExecutionOrder(graph, outputs);
        refuseUnplannable(graph, outputs, order);

        Map<String, Integer> slotOf = new HashMap<>();
        List<String> names = new ArrayList<>();
        Set<String> placeholders = new LinkedHashSet<>();
        Set<String> stored = new LinkedHashSet<>();
        for (String output : outputs) {
            classify(graph, output, placeholders, stored);
        }
        for (SameDiffOp op : order) {
            for (String input : inputsOf(op)) {
                classify(graph, input, placeholders, stored);
            }
        }
        placeholders.forEach(n -> slot(slotOf, names, n));
        stored.forEach(n -> slot(slotOf, names, n));
        for (SameDiffOp op : order) {
            op.getOutputsOfOp().forEach(n -> slot(slotOf, names, n));
        }
        slots = new INDArray[names.size()];
        placeholderNames = placeholders.toArray(new String[0]);
        placeholderSlots = new int[placeholderNames.length];
        placeholderTypes = new DataType[placeholderNames.length];
        castBuffers = new INDArray[placeholderNames.length];
        for (int i = 0; i < placeholderNames.length; i++) {
            placeholderSlots[i] = slotOf.get(placeholderNames[i]);
            placeholderTypes[i] = graph.getVariable(placeholderNames[i]).dataType();
        }
        storedNames = stored.toArray(new String[0]);
        storedSlots = new int[storedNames.length];
        for (int i = 0; i < storedNames.length; i++) {
            storedSlots[i] = slotOf.get(storedNames[i]);
        }
        outputSlots = outputs.stream().mapToInt(slotOf::get).toArray();

        // Which slots' values can change between calls: their shapes decide whether an op's output shape must be
        // computed at every call (an integer input computed from a placeholder, such as a reshape's target shape).
        boolean[] valueChanges = new boolean[slots.length];
        for (int s : placeholderSlots) {
            valueChanges[s] = true;
        }
        for (int i = 0; i < storedNames.length; i++) {
            valueChanges[storedSlots[i]] = graph.getVariable(storedNames[i]).getVariableType()
                    != VariableType.CONSTANT;
        }
        steps = new Step[order.size()];
        int random = 0;
        for (int k = 0; k < steps.length; k++) {
            steps[k] = step(order.get(k), slotOf);
            Step st = steps[k];
            boolean inputChanges = false;
            boolean shapeInputChanges = false;
            for (int s : st.in) {
                if (valueChanges[s]) {
                    inputChanges = true;
                    DataType t = graph.getVariable(names.get(s)).dataType();
                    shapeInputChanges |= !t.isFPType() || st.axesInArray;
                }
            }
            st.shapeEachCall = shapeInputChanges || VALUE_SHAPED.contains(st.op.opName());
            boolean outputChanges = inputChanges && !SHAPE_VALUED.contains(st.op.opName()) || isRandom(st.op);
            for (int s : st.out) {
                valueChanges[s] = outputChanges;
            }
            random += st.random ? 1 : 0;
        }
        randomOps = random;

        markViews();
        bufferOwner = new int[slots.length];
        for (int s = 0; s < slots.length; s++) {
            bufferOwner[s] = s;
        }
        for (Step st : steps) {
            if (st.kind == Kind.IDENTITY || st.kind == Kind.ASSIGN || st.view) {
                bufferOwner[st.out[0]] = bufferOwner[st.in[0]];
            }
        }
        lastRead = new int[slots.length];
        Arrays.fill(lastRead, -1);
        for (int k = 0; k < steps.length; k++) {
            for (int s : steps[k].in) {
                lastRead[bufferOwner[s]] = Math.max(lastRead[bufferOwner[s]], k);
            }
            for (int s : steps[k].out) {
                lastRead[bufferOwner[s]] = Math.max(lastRead[bufferOwner[s]], k);
            }
        }
        producedByKernel = new boolean[slots.length];
        for (Step st : steps) {
            if ((st.kind == Kind.CUSTOM || st.kind == Kind.LEGACY) && !st.view) {
                for (int s : st.out) {
                    producedByKernel[s] = true;
                }
            }
        }
        freshEachCall = new boolean[slots.length];
        for (int s : outputSlots) {
            int owner = bufferOwner[s];
            lastRead[owner] = steps.length;
            freshEachCall[owner] = ownedResults && producedByKernel[owner];
        }
    }

    /**
     * Marks the reshapes ({@code reshape} in 'c' order, {@code expand_dims}, {@code squeeze}) whose input is a buffer
     * the plan allocates (contiguous, 'c' order: reshaping it reinterprets the same values), so that their output is
     * a view of the input instead of libnd4j's copy; the view shares its input's buffer, which then lives as long as
     * either is read. None in a plan with an assignment, which writes into an input and would be seen through a view.
     */
    private void markViews() {
        boolean[] planBuffer = new boolean[slots.length];
        for (Step st : steps) {
            if (st.kind == Kind.ASSIGN) {
                for (Step other : steps) {
                    other.view = false;
                }
                return;
            }
            if (st.kind == Kind.CUSTOM || st.kind == Kind.LEGACY) {
                st.view = st.kind == Kind.CUSTOM && st.out.length == 1 && planBuffer[st.in[0]]
                        && isReshapeInCOrder(st.op);
                for (int s : st.out) {
                    planBuffer[s] = true;
                }
            } else if (st.kind == Kind.IDENTITY) {
                planBuffer[st.out[0]] = planBuffer[st.in[0]];
            }
        }
    }

    private static boolean isReshapeInCOrder(DifferentialFunction op) {
        switch (op.opName()) {
            case "expand_dims":
            case "squeeze":
                return true;
            case "reshape":
                // libnd4j reads a first integer argument of -'c' or -'f' as the order ('c' when absent); F_ORDER too
                long[] args = ((DynamicCustomOp) op).iArgs();
                return args.length == 0 || args[0] != -'f' && args[0] != Reshape.F_ORDER;
            default:
                return false;
        }
    }

    /**
     * Compiles the computation of {@code outputs} in {@code graph}.
     *
     * @param graph        the graph (SameDiff's gradient function for gradients)
     * @param outputs      the variables to compute, in the order {@link #run} returns them
     * @param ownedResults whether results must never be written by a later call (see the class comment)
     * @return the plan
     * @throws UnsupportedOperationException if the computation needs an op a plan does not run (control flow,
     *                                       tensor lists, control dependencies and the like); the message names them
     * @throws IllegalStateException         if the graph is inconsistent (a cycle, a computed variable without op)
     */
    public static ExecutionPlan compile(SameDiff graph, List<String> outputs, boolean ownedResults) {
        return new ExecutionPlan(graph, outputs, ownedResults);
    }

    private static void refuseUnplannable(SameDiff graph, List<String> outputs, List<SameDiffOp> order) {
        List<String> refused = new ArrayList<>();
        for (SameDiffOp sdo : order) {
            DifferentialFunction df = sdo.getOp();
            boolean planned = df instanceof Identity || df instanceof CustomOp || df instanceof Op;
            // What the session runs through special cases of its own: control flow, tensor lists, Invoke,
            // CreateView, external errors, the backward marker and Assert (StopGradient is a plain op).
            boolean special = df instanceof BaseCompatOp || df instanceof BaseTensorOp || df instanceof Invoke
                    || df instanceof CreateView || df instanceof ExternalErrorsFunction
                    || df instanceof GradientBackwardsMarker || df instanceof Assert;
            boolean controlled = sdo.getControlDeps() != null && !sdo.getControlDeps().isEmpty();
            if (!planned || special || controlled) {
                refused.add(sdo.getName() + " (" + df.getClass().getSimpleName()
                        + (controlled ? ", with control dependencies" : "") + ")");
            }
            for (String out : sdo.getOutputsOfOp()) {
                Variable v = graph.getVariables().get(out);
                if (v != null && v.getControlDeps() != null && !v.getControlDeps().isEmpty()) {
                    refused.add(sdo.getName() + " (output " + out + " has control dependencies)");
                }
            }
        }
        for (String name : graph.inputs() == null ? List.<String>of() : graph.inputs()) {
            if (name.endsWith("keras_learning_phase")) {
                refused.add("placeholder " + name + " (the session feeds it itself)");
            }
        }
        for (String output : outputs) {
            VariableType type = graph.getVariable(output).getVariableType();
            if (type == VariableType.SEQUENCE) {
                refused.add("output " + output + " (a sequence)");
            }
        }
        if (!refused.isEmpty()) {
            throw new UnsupportedOperationException("An execution plan cannot run " + String.join(", ", refused)
                    + ".");
        }
    }

    private static List<String> inputsOf(SameDiffOp op) {
        return op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
    }

    private static void classify(SameDiff graph, String name, Set<String> placeholders, Set<String> stored) {
        VariableType type = graph.getVariable(name).getVariableType();
        if (type == VariableType.PLACEHOLDER) {
            placeholders.add(name);
        } else if (type == VariableType.VARIABLE || type == VariableType.CONSTANT) {
            stored.add(name);
        } else if (type == VariableType.SEQUENCE) {
            throw new UnsupportedOperationException("An execution plan cannot run with sequence variable " + name
                    + ".");
        }
    }

    private static void slot(Map<String, Integer> slotOf, List<String> names, String name) {
        if (!slotOf.containsKey(name)) {
            slotOf.put(name, names.size());
            names.add(name);
        }
    }

    private Step step(SameDiffOp sdo, Map<String, Integer> slotOf) {
        DifferentialFunction df = sdo.getOp();
        List<String> inputs = inputsOf(sdo);
        int[] in = inputs.stream().mapToInt(slotOf::get).toArray();
        List<String> outputs = sdo.getOutputsOfOp();
        int[] out = outputs.stream().mapToInt(slotOf::get).toArray();
        DataType[] outTypes = outputs.stream().map(n -> graph.getVariable(n).dataType()).toArray(DataType[]::new);
        if (df instanceof Identity) {
            return new Step(sdo, Kind.IDENTITY, in, out, outTypes, null, false, false);
        }
        OpContext ctx = Nd4j.getExecutioner().buildContext();
        if (df instanceof CustomOp) {
            DynamicCustomOp custom = (DynamicCustomOp) df;
            // Set once: the native context skips empty argument lists, so clearing them later would leave old ones.
            ctx.setArgs(null, custom.iArgs(), custom.dArgs(), custom.tArgs(), custom.bArgs());
            return new Step(sdo, df instanceof Assign ? Kind.ASSIGN : Kind.CUSTOM, in, out, outTypes, ctx, false,
                    false);
        }
        boolean axes = df instanceof ReduceOp && ((ReduceOp) df).getOpType() != Op.Type.REDUCE3 && in.length == 2;
        boolean scalar = !axes && df instanceof ScalarOp && in.length == 2;
        return new Step(sdo, Kind.LEGACY, in, out, outTypes, ctx, axes, scalar);
    }

    private static boolean isRandom(DifferentialFunction op) {
        return op instanceof RandomOp || op.getClass().getName().startsWith("org.nd4j.linalg.api.ops.random.");
    }

    /**
     * Runs the plan.
     *
     * @param feed the placeholders' values, keyed by name; every placeholder the outputs need must be there (others
     *             are ignored). An array of another type than its placeholder is cast, as the session does.
     * @return the outputs, keyed by name in the order compiled
     * @throws IllegalArgumentException if a needed placeholder is missing
     * @throws IllegalStateException    if a variable or constant the outputs need has no array
     */
    public Map<String, INDArray> run(Map<String, INDArray> feed) {
        boolean computeShapes = !bindInputs(feed);
        Map<BufferKind, ArrayDeque<INDArray>> free = null;
        if (computeShapes && selectAllocation() && shareBuffers) {
            free = new HashMap<>();
        }
        boolean[] released = free == null ? null : new boolean[slots.length];
        for (int k = 0; k < steps.length; k++) {
            Step st = steps[k];
            if (st.view) {
                computeShapes = runView(st, computeShapes, free);
                if (free != null) {
                    release(st, k, free, released);
                }
                continue;
            }
            switch (st.kind) {
                case IDENTITY:
                    // As the session: the input passes through, not copied.
                    slots[st.out[0]] = slots[st.in[0]];
                    break;
                case ASSIGN:
                    bind(st, st.in.length);
                    // As the session: assignment writes into its first input.
                    INDArray target = slots[st.in[0]];
                    if (st.ctx.getOutputArray(0) != target) {
                        st.ctx.setOutputArray(0, target);
                    }
                    Nd4j.getExecutioner().exec((CustomOp) st.op, st.ctx);
                    slots[st.out[0]] = target;
                    break;
                case CUSTOM:
                    computeShapes = runCustom(st, computeShapes, free);
                    break;
                default:
                    if (st.axesInArray || st.scalarInArray) {
                        synchronized (st.op) {
                            computeShapes = runLegacy(st, computeShapes, free);
                        }
                    } else {
                        computeShapes = runLegacy(st, computeShapes, free);
                    }
            }
            if (free != null) {
                release(st, k, free, released);
            }
        }
        Map<String, INDArray> results = new LinkedHashMap<>(outputSlots.length * 2);
        for (int i = 0; i < outputSlots.length; i++) {
            INDArray value = slots[outputSlots[i]];
            int owner = bufferOwner[outputSlots[i]];
            // A fed or stored array passed through is copied even when results are the plan's: a caller that
            // changes its results in place (an updater does) must not change the graph's variables.
            if (!freshEachCall[owner] && (ownedResults || !producedByKernel[owner])) {
                value = value.dup();
            }
            results.put(outputNames.get(i), value);
        }
        return results;
    }

    /**
     * A reshape as a view of its input: made at the first call of a signature (the output shape from the op's own
     * shape function) and whenever the input is another array or the shape may have changed, reused otherwise. An
     * input that is not contiguous in 'c' order (an executioner's own result array) is reshaped by the op.
     */
    private boolean runView(Step st, boolean computeShapes, Map<BufferKind, ArrayDeque<INDArray>> free) {
        INDArray in = slots[st.in[0]];
        if (st.viewArray == null || st.viewOf != in || computeShapes || st.shapeEachCall) {
            if (in.isEmpty() || !denseInCOrder(in)) {
                st.viewArray = null;
                return runCustom(st, computeShapes, free);
            }
            bind(st, st.in.length);
            long[] shape = ((CustomOp) st.op).calculateOutputShape(st.ctx).get(0).getShape();
            // a new shape: the ops after must compute theirs again
            computeShapes |= st.viewArray == null || !sameShape(st.viewArray, shape);
            st.viewArray = shape.length == 0 ? in.reshape(shape) : in.reshape('c', true, shape);
            st.viewOf = in;
        }
        slots[st.out[0]] = st.viewArray;
        return computeShapes;
    }

    /** Whether the elements lie one after the other in 'c' order (the strides of axes of size 1 do not matter). */
    private static boolean denseInCOrder(INDArray a) {
        long expected = 1;
        for (int d = a.rank() - 1; d >= 0; d--) {
            if (a.size(d) != 1 && a.stride(d) != expected) {
                return false;
            }
            expected *= a.size(d);
        }
        return true;
    }

    private boolean runCustom(Step st, boolean computeShapes, Map<BufferKind, ArrayDeque<INDArray>> free) {
        bind(st, st.in.length);
        if (computeShapes || st.shapeEachCall) {
            List<LongShapeDescriptor> shapes = ((CustomOp) st.op).calculateOutputShape(st.ctx);
            if (shapes == null || shapes.size() != st.out.length) {
                throw new IllegalStateException("Op \"" + st.name + "\" (" + st.op.opName() + ") gave "
                        + (shapes == null ? "no" : shapes.size()) + " output shapes for " + st.out.length
                        + " outputs.");
            }
            for (int i = 0; i < st.out.length; i++) {
                // As the session: the output variable's type, where the shape function leaves it open.
                LongShapeDescriptor d = shapes.get(i);
                if (d.dataType() != st.outTypes[i]) {
                    d = d.asDataType(st.outTypes[i]);
                }
                computeShapes |= useOutput(st, i, d, free);
            }
        } else {
            freshOutputs(st);
        }
        if (st.random) {
            // Custom random ops draw from their context's generator: hand it ND4J's thread generator's state and
            // take the advanced state back, as executing the op without a context does, so that a seed set with
            // Nd4j.getRandom().setSeed decides the draws.
            Random rng = Nd4j.getRandom();
            st.ctx.setRngStates(rng.rootState(), rng.nodeState());
            Nd4j.getExecutioner().exec((CustomOp) st.op, st.ctx);
            Pair<Long, Long> states = st.ctx.getRngStates();
            rng.setStates(states.getFirst(), states.getSecond());
        } else {
            Nd4j.getExecutioner().exec((CustomOp) st.op, st.ctx);
        }
        return computeShapes;
    }

    private boolean runLegacy(Step st, boolean computeShapes, Map<BufferKind, ArrayDeque<INDArray>> free) {
        Op op = (Op) st.op;
        if (st.axesInArray) {
            // As the session, at every call: the axes are values, held by the op object.
            INDArray axes = slots[st.in[1]];
            st.emptyReduce = axes.isEmpty();
            st.op.setDimensions(st.emptyReduce ? null
                    : Shape.normalizeAxis(slots[st.in[0]].rank(), axes.toIntVector()));
            ((BaseReduceOp) op).setEmptyReduce(st.emptyReduce);
        } else if (st.scalarInArray) {
            ((ScalarOp) op).setScalar(slots[st.in[1]]);
        }
        bind(st, st.contextInputs);
        if (computeShapes || st.shapeEachCall) {
            LongShapeDescriptor d;
            if (st.emptyReduce) {
                INDArray x = slots[st.in[0]];
                d = LongShapeDescriptor.fromShape(x.shape(), x.dataType());
            } else {
                List<LongShapeDescriptor> shapes = ((BaseOp) op).calculateOutputShape(st.ctx);
                if (shapes == null || shapes.size() != 1) {
                    throw new IllegalStateException("Op \"" + st.name + "\" (" + st.op.opName()
                            + ") gave no output shape.");
                }
                d = shapes.get(0);
            }
            computeShapes |= useOutput(st, 0, d, free);
        } else {
            freshOutputs(st);
        }
        Nd4j.getExecutioner().exec(op, st.ctx);
        INDArray z = st.ctx.getOutputArray(0);
        if (z != slots[st.out[0]]) {
            // The executioner chose its own result array (it may be an input): buffers can no longer be shared
            // safely, so later signatures get buffers of their own.
            slots[st.out[0]] = z;
            shareBuffers = false;
            allocations.clear();
            current = null;
            return true;
        }
        return computeShapes;
    }

    private void bind(Step st, int n) {
        for (int i = 0; i < n; i++) {
            INDArray a = slots[st.in[i]];
            // Compare first: the executioner may have replaced a context input (pow with a scalar does).
            if (st.ctx.getInputArray(i) != a) {
                st.ctx.setInputArray(i, a);
            }
        }
    }

    /**
     * Gives output {@code i} of a step an array of descriptor {@code d}: the current signature's buffer if it fits,
     * else a free buffer of the same type and shape, else a new one; a fresh array for results returned as owned.
     *
     * @return whether the output's shape or type differs from the one its slot had
     */
    private boolean useOutput(Step st, int i, LongShapeDescriptor d, Map<BufferKind, ArrayDeque<INDArray>> free) {
        int s = st.out[i];
        INDArray held = current == null ? null : current.buffers[s];
        boolean fits = held != null && fits(held, d);
        INDArray array;
        if (freshEachCall[s]) {
            array = newArray(d);
            if (!fits && current != null) {
                current.buffers[s] = array;       // kept only as the template of later calls' fresh arrays
            }
        } else if (fits) {
            array = held;
        } else {
            ArrayDeque<INDArray> same = free == null ? null : free.get(new BufferKind(d));
            array = same == null || same.isEmpty() ? newArray(d) : same.pop();
            if (current != null) {
                current.buffers[s] = array;
            }
        }
        slots[s] = array;
        if (st.ctx.getOutputArray(i) != array) {
            st.ctx.setOutputArray(i, array);
        }
        return !fits;
    }

    /** Outputs returned as owned results get new arrays of the shapes they had. */
    private void freshOutputs(Step st) {
        for (int i = 0; i < st.out.length; i++) {
            int s = st.out[i];
            if (freshEachCall[s]) {
                INDArray template = current.buffers[s];
                INDArray array = template.isEmpty() ? template.dup()
                        : Nd4j.createUninitializedDetached(template.dataType(), template.shape());
                slots[s] = array;
                st.ctx.setOutputArray(i, array);
            }
        }
    }

    private static boolean fits(INDArray a, LongShapeDescriptor d) {
        return a.dataType() == d.dataType() && a.isEmpty() == d.isEmpty() && a.ordering() == d.getOrder()
                && sameShape(a, d.getShape());
    }

    private static INDArray newArray(LongShapeDescriptor d) {
        return d.isEmpty() ? Nd4j.create(d) : Nd4j.createUninitializedDetached(d.dataType(), d.getShape());
    }

    /** After step {@code k} of an allocating call: buffers no later step reads become free for later outputs. */
    private void release(Step st, int k, Map<BufferKind, ArrayDeque<INDArray>> free, boolean[] released) {
        for (int[] group : new int[][] {st.in, st.out}) {
            for (int s : group) {
                int owner = bufferOwner[s];
                if (lastRead[owner] == k && producedByKernel[owner] && !freshEachCall[owner] && !released[owner]) {
                    released[owner] = true;
                    INDArray buffer = current == null ? null : current.buffers[owner];
                    if (buffer != null && !buffer.isEmpty()) {
                        free.computeIfAbsent(new BufferKind(buffer), x -> new ArrayDeque<>()).push(buffer);
                    }
                }
            }
        }
    }

    /** Type, shape and order: buffers of one kind can stand in for each other. */
    private record BufferKind(DataType type, List<Long> shape, char order) {
        BufferKind(LongShapeDescriptor d) {
            this(d.dataType(), boxed(d.getShape()), d.getOrder());
        }

        BufferKind(INDArray a) {
            this(a.dataType(), boxed(a.shape()), a.ordering());
        }

        private static List<Long> boxed(long[] shape) {
            List<Long> l = new ArrayList<>(shape.length);
            for (long d : shape) {
                l.add(d);
            }
            return l;
        }
    }

    /** Binds the feed and the stored arrays; @return whether their shapes and types are the current signature's. */
    private boolean bindInputs(Map<String, INDArray> feed) {
        boolean known = current != null;
        int i = 0;
        for (; i < placeholderNames.length; i++) {
            INDArray a = feed.get(placeholderNames[i]);
            if (a == null) {
                throw new IllegalArgumentException("No array was fed for placeholder \"" + placeholderNames[i]
                        + "\".");
            }
            if (a.dataType() != placeholderTypes[i]) {
                INDArray cast = castBuffers[i];
                if (cast == null || !sameShape(cast, a.shape())) {
                    cast = Nd4j.createUninitializedDetached(placeholderTypes[i], a.shape());
                    castBuffers[i] = cast;
                }
                cast.assign(a);
                a = cast;
            }
            known = known && matches(a, i);
            slots[placeholderSlots[i]] = a;
        }
        for (int j = 0; j < storedNames.length; j++, i++) {
            INDArray a = graph.getArrForVarName(storedNames[j]);
            if (a == null) {
                throw new IllegalStateException("Variable \"" + storedNames[j] + "\" of the graph has no array.");
            }
            known = known && matches(a, i);
            slots[storedSlots[j]] = a;
        }
        return known;
    }

    private boolean matches(INDArray a, int input) {
        return a.dataType() == current.types[input] && sameShape(a, current.shapes[input]);
    }

    private static boolean sameShape(INDArray a, long[] shape) {
        // INDArray.shape() copies; size(d) reads the cached shape information.
        if (a.rank() != shape.length) {
            return false;
        }
        for (int d = 0; d < shape.length; d++) {
            if (a.size(d) != shape[d]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Makes the allocation of the bound inputs' signature current.
     *
     * @return true if it is new (no remembered signature matched), false if a remembered one was taken up
     */
    private boolean selectAllocation() {
        int n = placeholderNames.length + storedNames.length;
        long[][] shapes = new long[n][];
        DataType[] types = new DataType[n];
        for (int i = 0; i < n; i++) {
            INDArray a = slots[i < placeholderNames.length ? placeholderSlots[i]
                    : storedSlots[i - placeholderNames.length]];
            shapes[i] = a.shape();
            types[i] = a.dataType();
        }
        for (Allocation known : allocations) {
            if (Arrays.deepEquals(known.shapes, shapes) && Arrays.equals(known.types, types)) {
                allocations.remove(known);
                allocations.addFirst(known);
                current = known;
                return false;
            }
        }
        current = new Allocation(shapes, types, slots.length);
        allocations.addFirst(current);
        allocatingCalls++;
        while (allocations.size() > REMEMBERED_SIGNATURES) {
            allocations.removeLast();
        }
        return true;
    }

    /**
     * The names of the outputs, in the order compiled.
     *
     * @return the names
     */
    public List<String> outputs() {
        return outputNames;
    }

    /**
     * How many ops the plan runs.
     *
     * @return the count
     */
    public int opCount() {
        return steps.length;
    }

    /**
     * How many reshapes ({@code reshape} in 'c' order, {@code expand_dims}, {@code squeeze}) of the plan's own
     * buffers run as views of their input instead of copies.
     *
     * @return the count
     */
    public int viewCount() {
        int n = 0;
        for (Step st : steps) {
            n += st.view ? 1 : 0;
        }
        return n;
    }

    /**
     * How many random ops the plan runs (dropout, random distributions): their results depend on ND4J's random
     * generator, drawn in the plan's op order.
     *
     * @return the count
     */
    public int randomOpCount() {
        return randomOps;
    }

    /**
     * How many calls allocated buffers for a signature not remembered.
     *
     * @return the count since compilation
     */
    public long allocatingCalls() {
        return allocatingCalls;
    }

    /**
     * The bytes of the buffers the plan holds for all remembered signatures (fed arrays, the graph's own arrays and
     * results returned as owned are not counted).
     *
     * @return the bytes
     */
    public long bufferBytes() {
        Set<INDArray> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long bytes = 0;
        for (Allocation a : allocations) {
            for (int s = 0; s < a.buffers.length; s++) {
                INDArray b = a.buffers[s];
                if (b != null && !freshEachCall[s] && !b.isEmpty() && seen.add(b)) {
                    bytes += b.length() * b.dataType().width();
                }
            }
        }
        return bytes;
    }
}
