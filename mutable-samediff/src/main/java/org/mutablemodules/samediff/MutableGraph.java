package org.mutablemodules.samediff;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.mutablemodules.samediff.internal.Archive;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.mutablemodules.samediff.internal.GraphWalk;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

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
 * <p>The transformation, for each parameter {@code W}, happens when it is first changed or its value read as an
 * expression ({@link MutableParameter#value()}, {@link MutableParameter#initial()}); until then the parameter stays the
 * plain variable it was, so a parameter never mutated costs nothing when the graph runs. Then the trainable
 * {@code VARIABLE} is renamed {@code W/init} (keeping its array and updater state), a new {@code ARRAY} variable named
 * {@code W} is created as the output of an op that passes {@code W/init} through ({@code W/init + 0}), and every op
 * that read the parameter now reads that variable. The graph is still a plain SameDiff graph: it runs, trains, saves
 * and loads as before. {@link MutableParameter} describes the mutations.
 *
 * <p>{@code of} is idempotent: on a graph already converted it returns the same view, converting only parameters not
 * yet mutable. It also recognises parameters of a converted graph that was saved and loaded again (their histories
 * then start from the variable that feeds them).
 *
 * <p><b>Threads.</b> {@link #output} and {@link #gradients} may be called from several threads at once. Every change
 * of the graph through this library ({@code of}, {@code setFromFlat}, each {@link MutableParameter} mutation,
 * {@code reset}, {@code freezeInitial}) takes an exclusive lock: it waits for running computations and holds back new
 * ones, so each computation sees the graph entirely before or entirely after a change. Calls made on the SameDiff
 * instance directly ({@code sd.output}, {@code sd.fit}, building new ops) bypass that lock: do not make them while
 * another thread changes the graph.
 *
 * <p><b>Execution.</b> {@link #output}, {@link #gradients} and {@link GraphTrainer} steps compute what SameDiff's
 * session computes, with the same ND4J kernels and the same results to the byte, through an execution plan compiled
 * once per set of requested variables: the ops in a fixed order, one prepared op context each, output arrays
 * allocated only when the input shapes change (the buffers of the last four input shapes are kept, and buffers no
 * later op reads are reused), so a call costs a few microseconds per op instead of the session's tens. Arrays
 * returned are the caller's: no later call writes them. The plans are dropped at every change of the graph's
 * structure; arrays of variables replaced or changed in place are read at each call. Computations with ops a plan
 * does not run (control flow, tensor lists, control dependencies) and graphs with SameDiff listeners run through
 * SameDiff's session (logged once per structure at DEBUG). Two system properties: {@code
 * mutablemodules.execution=session} runs every computation through the session;
 * {@code mutablemodules.planCheck=strict} runs the session beside every plan and throws
 * {@link IllegalStateException} on any difference (the library's test suites run so).
 */
public final class MutableGraph {

    private final SameDiff sd;
    private final GraphState state;
    /** Held here, not by the state: plans reference the graph, which the state must not. */
    private final ExecutionPlans plans;
    private final Map<String, MutableParameter> handles = new ConcurrentHashMap<>();

    private MutableGraph(SameDiff sd, GraphState state) {
        this.sd = sd;
        this.state = state;
        this.plans = state.plans();
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
        return writeLocked(state, () -> {
            ParameterSlots.recoverLoaded(sd, state);
            List<String> names = new ArrayList<>();
            for (Variable v : sd.getVariables().values()) {
                SDVariable var = v.getVariable();
                if (var.getVariableType() == VariableType.VARIABLE && var.dataType().isFPType()
                        && state.ownerOfInitial(v.getName()) == null && !state.parameters.containsKey(v.getName())) {
                    names.add(v.getName());
                }
            }
            return convert(sd, state, names);
        });
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
        return writeLocked(state, () -> {
            ParameterSlots.recoverLoaded(sd, state);
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
                ParameterSlots.checkConvertible(sd, state, name, constantsToo);
                toConvert.add(name);
            }
            return convert(sd, state, toConvert);
        });
    }

    /** {@return the SameDiff graph itself, still a plain SameDiff instance} */
    public SameDiff sameDiff() {
        return sd;
    }

    /** {@return the names of the mutable parameters, in the order they were made mutable} */
    public List<String> parameterNames() {
        return Collections.unmodifiableList(new ArrayList<>(state.parameters.keySet()));
    }

    /** {@return the mutable parameters, in the order they were made mutable} */
    public List<MutableParameter> parameters() {
        List<MutableParameter> all = new ArrayList<>();
        for (String name : state.parameters.keySet()) {
            all.add(param(name));
        }
        return Collections.unmodifiableList(all);
    }

    /**
     * True if {@code name} is a mutable parameter of this graph.
     *
     * @param name the parameter's name
     * @return true if {@code name} is a mutable parameter of this graph
     */
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
        return readLocked(() -> paramLocked(name));
    }

    private MutableParameter paramLocked(String name) {
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
     * @param names names of the parameters, in the order their pieces are cut
     * @return the number of elements of the named parameters together: the length of a flat tensor that {@code
     *     #setFromFlat(SDVariable, String...)} cuts into them (the output size of a hypernetwork's head)
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
        return writeLocked(state, () -> setFromFlatLocked(flat, names));
    }

    private MutableGraph setFromFlatLocked(SDVariable flat, String... names) {
        Objects.requireNonNull(flat, "flat");
        Objects.requireNonNull(names, "names");
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
            if (sd.getVariables().get(flat.name()) == null || sd.getVariable(flat.name()) != flat) {
                throw new IllegalArgumentException(Messages.format(Messages.STALE_OPERAND, flat.name(), p.name()));
            }
            if (flat.dataType() != p.dataType()) {
                throw new IllegalArgumentException(Messages.format(Messages.WRONG_DATA_TYPE,
                        "\"" + flat.name() + "\"", flat.dataType(), p.name(), p.dataType(), p.dataType()));
            }
            if (GraphWalk.dependsOn(sd, flat.name(), p.name())) {
                throw new IllegalArgumentException(Messages.format(Messages.CYCLE,
                        flat.name(), p.name(), p.name(), p.name()));
            }
        }
        GraphEdits.Snapshot before = GraphEdits.snapshot(sd);
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
        Objects.requireNonNull(variableNames, "variableNames");
        return readLocked(() -> {
            for (String name : variableNames) {
                if (name == null || !sd.hasVariable(name)) {
                    throw new IllegalArgumentException(Messages.format(Messages.NO_VARIABLE, name));
                }
            }
            return state.placeholdersUpstreamOf(sd, List.of(variableNames));
        });
    }

    /**
     * Computes the named variables, as {@code sd.output(placeholders, outputs)}, after checking what is fed: every key
     * is a placeholder of this graph, each array has the placeholder's data type and declared shape, and every
     * placeholder the outputs need is there (with {@link #checkFinite(boolean)} on, also that the arrays are finite,
     * and afterwards that the results are). Safe to call from several threads at once; a mutation from another
     * thread waits until running computations end, and computations started after it see the mutated graph.
     *
     * @param placeholders values of the placeholders, keyed by name ({@code Map.of()} when none are needed)
     * @param outputs      names of the variables to compute
     * @return the values, keyed by the names asked for
     * @throws IllegalArgumentException if no output is named, a name is not a variable of this graph, a key is not a
     *                                  placeholder, an array has another data type or shape than its placeholder, a
     *                                  needed placeholder is missing, or (finite check on) an array is not finite
     * @throws ArithmeticException      with the finite check on, if a result is not finite
     */
    public Map<String, INDArray> output(Map<String, INDArray> placeholders, String... outputs) {
        return readLocked(() -> {
            FeedCheck.requireVariables(sd, "output", outputs);
            FeedCheck.requireFeed(sd, state, placeholders, outputs);
            if (state.checkFinite) {
                FeedCheck.requireFiniteFeed(placeholders);
            }
            Map<String, INDArray> values = plans.output(sd, placeholders, List.of(outputs));
            if (state.checkFinite) {
                FeedCheck.requireFiniteResults(sd, values);
            }
            return values;
        });
    }

    /**
     * The gradients of the graph's loss variables ({@code sd.getLossVariables()}, summed) with respect to the named
     * variables, as {@code sd.calculateGradients(placeholders, variables)}, with the checks and the thread-safety of
     * {@link #output(Map, String...)}. A parameter's gradient is the gradient with respect to its current value.
     * Placeholders may be named too (the gradient with respect to an input). Left out of the result: variables the
     * loss does not depend on, and parameters whose value no trainable variable or placeholder feeds any more (after
     * {@link MutableParameter#fill} or {@link MutableParameter#set(INDArray)}), for which SameDiff defines no
     * gradient.
     *
     * @param placeholders values of the placeholders, keyed by name
     * @param variables    names of the variables to differentiate with respect to (parameters, their initial values
     *                     or any floating-point variable)
     * @return the gradients, keyed by variable name
     * @throws IllegalStateException    if the graph has no loss variable
     * @throws IllegalArgumentException as {@link #output(Map, String...)}
     * @throws ArithmeticException      with the finite check on, if a gradient is not finite
     */
    public Map<String, INDArray> gradients(Map<String, INDArray> placeholders, String... variables) {
        state.lock.readLock().lock();
        try {
            FeedCheck.requireVariables(sd, "gradients", variables);
            if (sd.getLossVariables().isEmpty()) {
                throw new IllegalStateException(Messages.NO_LOSS);
            }
            FeedCheck.requireFeed(sd, state, placeholders, sd.getLossVariables().toArray(new String[0]));
            if (state.checkFinite) {
                FeedCheck.requireFiniteFeed(placeholders);
            }
            if (!gradientFunctionCovers(variables)) {
                // Rebuilding the gradient function changes what other readers execute: upgrade to the write lock.
                state.lock.readLock().unlock();
                state.lock.writeLock().lock();
                try {
                    if (!gradientFunctionCovers(variables)) {
                        rebuildGradientFunction(variables);
                    }
                } finally {
                    state.lock.readLock().lock();
                    state.lock.writeLock().unlock();
                }
            }
            List<String> computable = new ArrayList<>();
            for (String v : variables) {
                if (sd.getVariable(v).getGradient() != null) {
                    computable.add(v);
                }
            }
            Map<String, INDArray> values = new LinkedHashMap<>();
            if (!computable.isEmpty()) {
                values.putAll(plans.outputsAndGradients(sd, placeholders, List.of(), computable, true).gradients());
                values.values().removeIf(Objects::isNull);
            }
            if (state.checkFinite) {
                FeedCheck.requireFiniteResults(sd, values);
            }
            return values;
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /**
     * The gradients of the loss variable {@code loss} with respect to the named variables, whatever loss variables
     * the graph holds now: a {@link GraphTrainer} of another loss on the same graph sets the graph's loss variables to
     * its own, and {@link #gradients(Map, String...)} differentiates those. The graph's loss variables become
     * {@code loss} (SameDiff differentiates the graph's loss variables; a trainer's next step sets its own back); the
     * gradient function of each loss is kept for the next call on it while the graph's structure stays the same (up
     * to eight losses), so alternating between losses does not rebuild it.
     *
     * @param loss         the loss variable to differentiate
     * @param placeholders values of the placeholders, keyed by name
     * @param variables    names of the variables to differentiate with respect to
     * @return the gradients, keyed by variable name, as {@link #gradients(Map, String...)} returns them
     * @throws IllegalArgumentException if {@code loss} is not a variable of the graph, or as
     *                                  {@link #gradients(Map, String...)}
     */
    public Map<String, INDArray> gradientsOf(String loss, Map<String, INDArray> placeholders, String... variables) {
        // Exclusive for the whole computation: with a read lock held here, gradients() could not upgrade to rebuild
        // the gradient function (a read lock cannot be upgraded while another read hold remains).
        state.lock.writeLock().lock();
        try {
            FeedCheck.requireVariables(sd, "gradientsOf", loss);
            GradientFunctions.useLoss(sd, loss);
            return gradients(placeholders, variables);
        } finally {
            state.lock.writeLock().unlock();
        }
    }

    /**
     * The gradient function exists and was built for every named variable. SameDiff's default gradient function
     * leaves out variables that no trainable variable feeds (a parameter after {@code fill} or {@code set(array)}),
     * whose gradient a user still asks for.
     */
    private boolean gradientFunctionCovers(String... variables) {
        if (!sd.hasGradientFunction()) {
            return false;
        }
        for (String v : variables) {
            if (sd.getVariable(v).getGradient() == null && sd.getVariable(v).dataType().isFPType()
                    && !state.gradientRequests.contains(v)) {
                return false;
            }
        }
        return true;
    }

    private void rebuildGradientFunction(String... variables) {
        for (String v : variables) {
            if (sd.getVariable(v).dataType().isFPType()) {
                state.gradientRequests.add(v);
            }
        }
        state.gradientRequests.removeIf(v -> !sd.hasVariable(v));
        GraphSurgery.invalidateDerivedState(sd);
        GradientFunctions.ensure(sd, true, state.gradientRequests.toArray(new String[0]));
    }

    /**
     * Sets the values of trainable {@code VARIABLE}s in place, as a trainer's step changes them: for copies of the
     * graph kept in sync with another (data-parallel training sends the trained values to each worker's copy each
     * step). The arrays are copied into the variables' own arrays, so plans and trainers keep working with them;
     * nothing about the graph's structure changes. Every name, shape and data type is checked before any value is
     * set.
     *
     * @param values new values by variable name (for a mutable parameter trained through its initial value, the
     *               initial value's name, as {@link GraphTrainer#trainedVariables()} lists it)
     * @return this graph
     * @throws IllegalArgumentException if a name is not a {@code VARIABLE} of this graph, or an array has another
     *                                  shape or data type than the variable's
     */
    public MutableGraph setValues(Map<String, INDArray> values) {
        Objects.requireNonNull(values, "values");
        return writeLocked(() -> {
            for (Map.Entry<String, INDArray> e : values.entrySet()) {
                String name = e.getKey();
                SDVariable v = name == null ? null : sd.getVariables().containsKey(name) ? sd.getVariable(name) : null;
                if (v == null || v.getVariableType() != VariableType.VARIABLE) {
                    throw new IllegalArgumentException(Messages.format(Messages.NOT_A_VARIABLE, name,
                            v == null ? "no variable" : "a " + v.getVariableType()));
                }
                INDArray value = Objects.requireNonNull(e.getValue(), name);
                INDArray current = v.getArr();
                if (!Arrays.equals(current.shape(), value.shape()) || current.dataType() != value.dataType()) {
                    throw new IllegalArgumentException(Messages.format(Messages.VALUE_MISMATCH, name,
                            value.dataType(), value.shape(), current.dataType(), current.shape()));
                }
            }
            values.forEach((name, value) -> sd.getVariable(name).getArr().assign(value));
            return this;
        });
    }

    /**
     * Turns the finite check on or off (off by default): with it on, {@link #output} and {@link #gradients} refuse
     * placeholder values that hold NaN or infinite values and report results that come out non-finite, naming the
     * parameters that hold non-finite values; mutations with a non-finite scalar ({@code addi(NaN)}, {@code fill})
     * or array ({@code set(INDArray)}) are refused. It costs one pass over each array.
     *
     * @param enabled whether to check
     * @return this graph
     */
    public MutableGraph checkFinite(boolean enabled) {
        state.checkFinite = enabled;
        return this;
    }

    /** {@return whether the finite check ({@code #checkFinite(boolean)}) is on} */
    public boolean checksFinite() {
        return state.checkFinite;
    }

    /**
     * Saves the graph: the SameDiff graph with its arrays, which variables are mutable parameters, their initial
     * values, histories and frozen state, and the finite-check setting. No trainer's state is saved; to go on training
     * with the same optimiser state, use {@link #save(OutputStream, GraphTrainer)}. The file is a zip with a manifest
     * and checksums; {@link #load} reads it back. Waits for running mutations; safe beside concurrent {@link #output}
     * calls.
     *
     * @param out where to write; not closed
     * @throws IOException if writing fails
     */
    public void save(OutputStream out) throws IOException {
        save(out, null);
    }

    /**
     * Saves the graph as {@link #save(OutputStream)} does, and with it {@code trainer}'s state: its updater
     * configuration, iteration and epoch counts and updater arrays (Adam's moments, say), whatever part of the graph
     * it trains, a hypernetwork included. After {@link #load}, the first {@link GraphTrainer} built on the loaded graph
     * with an equal updater takes that state over, so further training gives exactly the losses the uninterrupted
     * trainer would.
     *
     * @param out     where to write; not closed
     * @param trainer a trainer of this graph, or null to save the graph alone
     * @throws IOException              if writing fails
     * @throws IllegalArgumentException if {@code trainer} trains another graph
     */
    public void save(OutputStream out, GraphTrainer trainer) throws IOException {
        Objects.requireNonNull(out, "out");
        if (trainer != null && !trainer.trains(sd)) {
            throw new IllegalArgumentException(Messages.TRAINER_OF_ANOTHER_GRAPH);
        }
        Archive archive = readLocked(() -> GraphFile.write(sd, state, trainer));
        archive.write(out);
    }

    /**
     * Saves to a file; see {@link #save(OutputStream)}. The file is written to a temporary file beside it first and
     * then moved into place, so an existing file is never left half-written.
     *
     * @param file the file to write (replaced if it exists)
     * @throws IOException if writing fails
     */
    public void save(Path file) throws IOException {
        save(file, null);
    }

    /**
     * Saves to a file with a trainer's state; see {@link #save(OutputStream, GraphTrainer)} and {@link #save(Path)}.
     *
     * @param file    the file to write (replaced if it exists)
     * @param trainer a trainer of this graph, or null to save the graph alone
     * @throws IOException              if writing fails
     * @throws IllegalArgumentException if {@code trainer} trains another graph
     */
    public void save(Path file, GraphTrainer trainer) throws IOException {
        Objects.requireNonNull(file, "file");
        if (trainer != null && !trainer.trains(sd)) {
            throw new IllegalArgumentException(Messages.TRAINER_OF_ANOTHER_GRAPH);
        }
        Archive.writeAtomically(file, out -> save(out, trainer));
    }

    /**
     * Loads a graph saved by {@link #save(OutputStream)}: a new SameDiff instance whose outputs, gradients and
     * parameter histories equal the saved graph's, with the saved trainer's state if there was one (see
     * {@link #save(OutputStream, GraphTrainer)}).
     *
     * @param in the stream, read to its end; not closed
     * @return the mutable view of the loaded graph
     * @throws IOException if the stream is not such a file, is truncated or corrupted, or was written by another
     *                     version of the format; nothing is half-loaded then
     */
    public static MutableGraph load(InputStream in) throws IOException {
        Objects.requireNonNull(in, "in");
        return GraphFile.read(Archive.read(in, GraphFile.FORMAT, GraphFile.VERSION));
    }

    /**
     * Loads a graph from a file written by {@link #save(Path)}; see {@link #load(InputStream)}.
     *
     * @param file the file
     * @return the mutable view of the loaded graph
     * @throws IOException as {@link #load(InputStream)}, or if the file cannot be read
     */
    public static MutableGraph load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream in = Files.newInputStream(file)) {
            return load(in);
        }
    }

    @Override
    public String toString() {
        return "MutableGraph" + state.parameters.keySet();
    }

    /** The view of a graph whose state was just restored from a file. */
    static MutableGraph of(SameDiff sd, GraphState state) {
        return view(sd, state);
    }

    /** Runs a change of the graph's structure with every computation through this class excluded. */
    <T> T writeLocked(Supplier<T> change) {
        return writeLocked(state, change);
    }

    private static <T> T writeLocked(GraphState state, Supplier<T> change) {
        state.lock.writeLock().lock();
        try {
            return change.get();
        } finally {
            state.structureVersion++;       // also after a failed change: its rollback rebuilt the structure
            state.lock.writeLock().unlock();
        }
    }

    private <T> T readLocked(Supplier<T> computation) {
        state.lock.readLock().lock();
        try {
            return computation.get();
        } finally {
            state.lock.readLock().unlock();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    GraphState state() {
        return state;
    }

    static long length(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static MutableGraph view(SameDiff sd, GraphState state) {
        MutableGraph g = state.view.get();
        if (g == null) {
            g = new MutableGraph(sd, state);
            state.view = new WeakReference<>(g);
        }
        return g;
    }

    private static MutableGraph convert(SameDiff sd, GraphState state, List<String> names) {
        MutableGraph graph = view(sd, state);
        if (names.isEmpty()) {
            return graph;
        }
        for (String name : names) {
            ParameterSlots.register(sd, state, name);
        }
        return graph;
    }


}
