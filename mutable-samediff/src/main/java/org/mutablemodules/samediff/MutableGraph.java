package org.mutablemodules.samediff;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarAdd;

/**
 * A SameDiff graph whose trainable parameters can be assigned and modified in place while gradients keep flowing:
 * the JVM counterpart of torch-mutable-modules' {@code to_mutable_module}.
 *
 * <pre>{@code
 * MutableGraph g = MutableGraph.of(sd);          // every trainable floating-point VARIABLE becomes mutable
 * MutableGraph.withConstants(frozen, "W");        // or named CONSTANTs of a frozen or imported graph
 * g.param("W").muli(0).addi(69);                  // W reads 69 everywhere, and stays differentiable
 * g.param("b").set(hyper.get(...));               // b is now predicted by another network of the same graph
 * }</pre>
 *
 * <p>The transformation, for each parameter {@code W}: the trainable {@code VARIABLE} is renamed {@code W/init}
 * (keeping its array and updater state), a new {@code ARRAY} variable named {@code W} is created as the output of an
 * op that passes {@code W/init} through ({@code W/init + 0}), and every op that read the parameter now reads that
 * variable. The graph is still a plain SameDiff graph: it runs, trains, saves and loads as before, and until a
 * parameter is mutated its outputs and gradients are unchanged. {@link MutableParameter} describes the mutations.
 *
 * <p>{@code of} is idempotent: on a graph already converted it returns the same view, converting only parameters not
 * yet mutable. It also recognises parameters of a converted graph that was saved and loaded again (their histories
 * then start from the variable that feeds them).
 *
 * <p>Not thread-safe, like SameDiff itself.
 */
public final class MutableGraph {

    private final SameDiff sd;
    private final GraphState state;
    private final Map<String, MutableParameter> handles = new LinkedHashMap<>();

    private MutableGraph(SameDiff sd, GraphState state) {
        this.sd = sd;
        this.state = state;
    }

    /**
     * Makes every trainable floating-point {@code VARIABLE} of {@code sd} mutable (those already mutable are kept).
     *
     * @param sd the graph, edited in place
     * @return the mutable view of {@code sd}
     * @throws IllegalStateException on the CUDA backend, if a GPU cannot run ND4J's CUDA code ({@link BackendCheck})
     */
    public static MutableGraph of(SameDiff sd) {
        Objects.requireNonNull(sd, "sd");
        BackendCheck.checkOnce();
        GraphState state = GraphState.of(sd);
        recoverLoadedParameters(sd, state);
        List<String> names = new ArrayList<>();
        for (Variable v : sd.getVariables().values()) {
            SDVariable var = v.getVariable();
            if (var.getVariableType() == VariableType.VARIABLE && var.dataType().isFPType()
                    && state.ownerOfInitial(v.getName()) == null) {
                names.add(v.getName());
            }
        }
        return convert(sd, state, names);
    }

    /**
     * Makes the named parameters of {@code sd} mutable; others stay plain {@code VARIABLE}s. Names that are already
     * mutable are accepted and left as they are. For {@code CONSTANT}s, use {@link #withConstants}.
     *
     * @param sd             the graph, edited in place
     * @param parameterNames names of trainable floating-point {@code VARIABLE}s of {@code sd}
     * @return the mutable view of {@code sd}
     * @throws IllegalArgumentException if no name is given, a name is repeated, or a name is not a trainable
     *                                  floating-point variable of {@code sd} (nothing is converted then; for a
     *                                  {@code CONSTANT}, the message points to {@link #withConstants})
     * @throws IllegalStateException    on the CUDA backend, if a GPU cannot run ND4J's CUDA code ({@link BackendCheck})
     */
    public static MutableGraph of(SameDiff sd, String... parameterNames) {
        return ofNamed(sd, false, parameterNames);
    }

    /**
     * Makes the named {@code VARIABLE}s and {@code CONSTANT}s of {@code sd} mutable: for graphs whose weights are
     * constants, because they were frozen ({@code sd.convertToConstants}) or imported. A named constant becomes a
     * mutable parameter like any other, except that its initial value ({@code name + "/init"}) stays a constant:
     * {@code sd.fit} does not train it and no gradient is computed for it (as after
     * {@link MutableParameter#freezeInitial()}), while whatever feeds the parameter after a mutation is trained as
     * usual. To train a constant's value instead, make it a {@code VARIABLE} first ({@code sd.convertToVariable}) and
     * use {@link #of(SameDiff, String...)}. Named {@code VARIABLE}s are converted as by {@code of}; names that are
     * already mutable are accepted and left as they are. {@link #of(SameDiff)} still converts {@code VARIABLE}s only.
     *
     * @param sd    the graph, edited in place
     * @param names names of floating-point {@code VARIABLE}s or {@code CONSTANT}s of {@code sd}
     * @return the mutable view of {@code sd}
     * @throws IllegalArgumentException if no name is given, a name is repeated, or a name is not a floating-point
     *                                  {@code VARIABLE} or {@code CONSTANT} of {@code sd} (nothing is converted then)
     * @throws IllegalStateException    on the CUDA backend, if a GPU cannot run ND4J's CUDA code ({@link BackendCheck})
     */
    public static MutableGraph withConstants(SameDiff sd, String... names) {
        return ofNamed(sd, true, names);
    }

    private static MutableGraph ofNamed(SameDiff sd, boolean constantsToo, String... parameterNames) {
        Objects.requireNonNull(sd, "sd");
        BackendCheck.checkOnce();
        Objects.requireNonNull(parameterNames, "parameterNames");
        if (parameterNames.length == 0) {
            throw new IllegalArgumentException(Messages.EMPTY_NAMES);
        }
        GraphState state = GraphState.of(sd);
        recoverLoadedParameters(sd, state);
        Set<String> seen = new HashSet<>();
        List<String> toConvert = new ArrayList<>();
        for (String name : parameterNames) {
            Objects.requireNonNull(name, "parameter name");
            if (!seen.add(name)) {
                throw new IllegalArgumentException(Messages.format(Messages.DUPLICATE_NAME, name));
            }
            if (state.parameters.containsKey(name)) {
                continue;
            }
            checkConvertible(sd, state, name, constantsToo);
            toConvert.add(name);
        }
        return convert(sd, state, toConvert);
    }

    /** The SameDiff graph itself, still a plain SameDiff instance. */
    public SameDiff sameDiff() {
        return sd;
    }

    /** The names of the mutable parameters, in the order they were made mutable. */
    public List<String> parameterNames() {
        return Collections.unmodifiableList(new ArrayList<>(state.parameters.keySet()));
    }

    /** The mutable parameters, in the order they were made mutable. */
    public List<MutableParameter> parameters() {
        List<MutableParameter> all = new ArrayList<>();
        for (String name : state.parameters.keySet()) {
            all.add(param(name));
        }
        return Collections.unmodifiableList(all);
    }

    /** True if {@code name} is a mutable parameter of this graph. */
    public boolean isMutable(String name) {
        return state.parameters.containsKey(name);
    }

    /**
     * The mutable parameter named {@code name}.
     *
     * @param name the parameter's name, as it was before the conversion
     * @return its handle; the same instance on every call
     * @throws IllegalArgumentException if no such parameter is mutable; the message names the known parameters
     */
    public MutableParameter param(String name) {
        ParameterRecord record = state.parameters.get(name);
        if (record == null) {
            throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_PARAMETER, name,
                    Messages.nearest(String.valueOf(name), state.parameters.keySet()),
                    Messages.list(state.parameters.keySet())));
        }
        return handles.computeIfAbsent(name, n -> new MutableParameter(this, record));
    }

    /**
     * The number of elements of the named parameters together: the length of a flat tensor that
     * {@link #setFromFlat(SDVariable, String...)} cuts into them (the output size of a hypernetwork's head).
     *
     * @throws IllegalArgumentException if a name is not a mutable parameter
     */
    public long flatSize(String... names) {
        long total = 0;
        for (String name : names) {
            total += length(param(name).shape());
        }
        return total;
    }

    /**
     * Feeds the named parameters from consecutive pieces of one flat tensor, in the order named, each piece reshaped
     * (row-major, 'c' order) to its parameter's shape. This is how a hypernetwork's single output vector becomes the
     * weights of another network. See {@link FlatSplit} for the op used and its gradient.
     *
     * @param flat  an expression of this graph of shape {@code [n]} or {@code [1, n]} with
     *              {@code n == flatSize(names)}, and of the parameters' data type
     * @param names the parameters to feed
     * @return this graph
     * @throws IllegalArgumentException if a name is unknown or repeated, {@code flat} belongs to another graph, has
     *                                  another data type or length, or is computed from one of the parameters; the
     *                                  graph is then unchanged
     */
    public MutableGraph setFromFlat(SDVariable flat, String... names) {
        Objects.requireNonNull(flat, "flat");
        if (names.length == 0) {
            throw new IllegalArgumentException(Messages.EMPTY_NAMES);
        }
        Set<String> seen = new HashSet<>();
        List<MutableParameter> targets = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        for (String name : names) {
            if (!seen.add(name)) {
                throw new IllegalArgumentException(Messages.format(Messages.DUPLICATE_NAME, name));
            }
            MutableParameter p = param(name);
            targets.add(p);
            shapes.add(p.shape());
        }
        for (MutableParameter p : targets) {
            // set() checks these again per piece; checking all first keeps the graph unchanged on failure.
            if (flat.getSameDiff() != sd) {
                throw new IllegalArgumentException(Messages.format(Messages.OTHER_SAMEDIFF, flat.name(), p.name()));
            }
            if (flat.dataType() != p.dataType()) {
                throw new IllegalArgumentException(Messages.format(Messages.WRONG_DATA_TYPE,
                        "\"" + flat.name() + "\"", flat.dataType(), p.name(), p.dataType(), p.dataType()));
            }
            if (GraphSurgery.dependsOn(sd, flat.name(), p.name())) {
                throw new IllegalArgumentException(Messages.format(Messages.CYCLE,
                        flat.name(), p.name(), p.name(), p.name()));
            }
        }
        GraphSurgery.Snapshot before = GraphSurgery.snapshot(sd);
        try {
            List<SDVariable> pieces = FlatSplit.split(flat, shapes.toArray(new long[0][]));
            long offset = 0;
            for (int i = 0; i < targets.size(); i++) {
                long end = offset + length(shapes.get(i));
                targets.get(i).set(pieces.get(i), "slice(" + flat.name() + ", " + offset + ":" + end + ")");
                offset = end;
            }
        } catch (RuntimeException e) {
            before.rollback();
            throw e;
        }
        return this;
    }

    /**
     * The placeholders that must be fed to compute the named variables, for example the current values of
     * parameters fed by a hypernetwork that reads a task descriptor.
     *
     * @param variableNames names of variables of this graph
     * @return the placeholder names, sorted
     * @throws IllegalArgumentException if a name is not a variable of this graph
     */
    public Set<String> requiredPlaceholders(String... variableNames) {
        for (String name : variableNames) {
            if (!sd.hasVariable(name)) {
                throw new IllegalArgumentException(Messages.format(Messages.NO_VARIABLE, name));
            }
        }
        return Collections.unmodifiableSet(GraphSurgery.placeholdersUpstreamOf(sd, variableNames));
    }

    @Override
    public String toString() {
        return "MutableGraph" + state.parameters.keySet();
    }

    // ---------------------------------------------------------------------------------------------------------

    GraphState state() {
        return state;
    }

    String uniqueName(String base) {
        if (!sd.hasVariable(base)) {
            return base;
        }
        for (int i = 1; ; i++) {
            String candidate = base + "_" + i;
            if (!sd.hasVariable(candidate)) {
                return candidate;
            }
        }
    }

    /**
     * Runs {@code body} in the name scope {@code scope}. SameDiff names a new op by trying {@code add_scalar},
     * {@code add_scalar_1}, ... until one is free, which costs time linear in the ops of that type; a scope of its
     * own for each change keeps conversions and long chains of mutations linear.
     */
    static <T> T inScope(SameDiff sd, String scope, Supplier<T> body) {
        NameScope ns = sd.withNameScope(scope);
        try {
            return body.get();
        } finally {
            ns.close();
        }
    }

    static long length(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static boolean isSlot(DifferentialFunction fn) {
        return fn instanceof ScalarAdd && ((ScalarAdd) fn).scalar() != null && ((ScalarAdd) fn).scalar().getDouble(0) == 0.0;
    }

    private static MutableGraph view(SameDiff sd, GraphState state) {
        MutableGraph g = state.view.get();
        if (g == null) {
            g = new MutableGraph(sd, state);
            state.view = new WeakReference<>(g);
        }
        return g;
    }

    private static void checkConvertible(SameDiff sd, GraphState state, String name, boolean constantsToo) {
        if (!sd.hasVariable(name)) {
            List<String> candidates = new ArrayList<>();
            for (Variable v : sd.getVariables().values()) {
                VariableType type = v.getVariable().getVariableType();
                if (type == VariableType.VARIABLE
                        || constantsToo && type == VariableType.CONSTANT && v.getVariable().dataType().isFPType()
                        && state.ownerOfInitial(v.getName()) == null) {
                    candidates.add(v.getName());
                }
            }
            throw new IllegalArgumentException(Messages.format(
                    constantsToo ? Messages.NO_SUCH_PARAMETER_OR_CONSTANT : Messages.NO_SUCH_VARIABLE, name,
                    Messages.nearest(name, candidates), Messages.list(candidates)));
        }
        SDVariable v = sd.getVariable(name);
        ParameterRecord owner = state.ownerOfInitial(name);
        if (owner != null) {
            throw new IllegalArgumentException(Messages.format(Messages.IS_INITIAL_VALUE, name, owner.name, owner.name));
        }
        VariableType type = v.getVariableType();
        if (type == VariableType.CONSTANT && !constantsToo) {
            throw new IllegalArgumentException(Messages.format(Messages.CONSTANT_NOT_ACCEPTED, name, name));
        }
        if (type != VariableType.VARIABLE && type != VariableType.CONSTANT) {
            throw new IllegalArgumentException(Messages.format(
                    constantsToo ? Messages.NOT_PARAMETER_OR_CONSTANT : Messages.NOT_TRAINABLE, name, type));
        }
        if (!v.dataType().isFPType()) {
            throw new IllegalArgumentException(Messages.format(Messages.NOT_FLOATING_POINT, name, type, v.dataType()));
        }
    }

    private static MutableGraph convert(SameDiff sd, GraphState state, List<String> names) {
        MutableGraph graph = view(sd, state);
        if (names.isEmpty()) {
            return graph;
        }
        for (String name : names) {
            graph.convertOne(name);
        }
        GraphSurgery.invalidateDerivedState(sd);
        return graph;
    }

    private void convertOne(String name) {
        SDVariable parameter = sd.getVariable(name);
        long[] shape = parameter.getArr().shape();
        String initialName = uniqueName(name + "/init");
        GraphSurgery.rename(sd, name, initialName);
        List<String> consumers = GraphSurgery.consumers(sd, initialName);

        // The slot is "x + 0", not ND4J's identity op: in 1.0.0-M2.1 InferenceSession short-cuts identity ops in a
        // way that leaves their gradient arrays null during sd.fit. add_scalar passes its gradient straight through.
        SDVariable slot = inScope(sd, name + "/slot", () -> sd.getVariable(initialName).add(0.0));
        String slotOp = sd.getVariables().get(slot.name()).getOutputOfOp();
        GraphSurgery.rename(sd, slot.name(), name);
        for (String op : consumers) {
            GraphSurgery.replaceInput(sd, op, initialName, name);
        }
        state.knownShapes.put(name, shape.clone());
        ParameterRecord record = new ParameterRecord(name, initialName, slotOp, shape, parameter.dataType(),
                History.of(name + ":init"));
        // A constant (named to withConstants) keeps its value fixed, as after freezeInitial().
        record.initialPinned = parameter.getVariableType() == VariableType.CONSTANT;
        state.parameters.put(name, record);
    }

    /**
     * Finds parameters converted before the graph was saved: an {@code ARRAY} variable {@code X} produced by an
     * slot op ({@code + 0}), next to a variable {@code X/init} that is not an op's output.
     */
    private static void recoverLoadedParameters(SameDiff sd, GraphState state) {
        for (Variable v : new ArrayList<>(sd.getVariables().values())) {
            String name = v.getName();
            if (state.parameters.containsKey(name) || v.getOutputOfOp() == null) {
                continue;
            }
            String initialName = name + "/init";
            Variable initial = sd.getVariables().get(initialName);
            if (initial == null || initial.getOutputOfOp() != null || initial.getVariable().getArr() == null) {
                continue;
            }
            SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
            DifferentialFunction fn = op.getOp();
            if (!isSlot(fn) || op.getInputsToOp() == null || op.getInputsToOp().size() != 1) {
                continue;
            }
            String source = op.getInputsToOp().get(0);
            History history = History.of(source.equals(initialName) ? name + ":init" : source);
            state.knownShapes.put(name, initial.getVariable().getArr().shape());
            ParameterRecord record = new ParameterRecord(name, initialName, op.getName(),
                    initial.getVariable().getArr().shape(), initial.getVariable().dataType(), history);
            // An initial value that is a constant while it still feeds the parameter was frozen for good
            // (freezeInitial, withConstants): reset() must keep it so. A mutation only freezes unused ones.
            record.initialPinned = source.equals(initialName)
                    && initial.getVariable().getVariableType() == VariableType.CONSTANT;
            state.parameters.put(name, record);
        }
    }
}
