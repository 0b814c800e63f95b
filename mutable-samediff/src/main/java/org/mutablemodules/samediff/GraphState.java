package org.mutablemodules.samediff;

import com.google.common.collect.MapMaker;
import java.lang.ref.WeakReference;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.mutablemodules.samediff.internal.GraphWalk;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;

/**
 * What this library knows about one SameDiff instance beyond its structure: the converted parameters (with their
 * histories) and the shapes of the variables it created.
 *
 * <p>Held in a weak map keyed by the SameDiff instance, and holding no reference to it, so that the state lives
 * exactly as long as the graph it describes. The public view ({@link MutableGraph}) is cached weakly too: a view the
 * user dropped is rebuilt over the same state.
 */
final class GraphState {

    // Identity keys: SameDiff's hashCode changes with its structure, which this library edits.
    private static final Map<SameDiff, GraphState> STATES = new MapMaker().weakKeys().makeMap();

    final Map<String, ParameterRecord> parameters = new LinkedHashMap<>();
    final Map<String, long[]> knownShapes = new HashMap<>();
    WeakReference<MutableGraph> view = new WeakReference<>(null);
    /**
     * Serialises changes of the graph's structure (write lock) against computations through {@link MutableGraph}'s
     * {@code output} and {@code gradients} (read lock): SameDiff's structures are plain collections, so a computation
     * that walks them while a mutation rewires them fails or mixes the two graphs.
     */
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The variables whose gradients were asked for through {@link MutableGraph#gradients}, in the order asked. */
    final Set<String> gradientRequests = new LinkedHashSet<>();
    /** A trainer's state loaded with the graph, taken over by the next trainer built with the same updater. */
    TrainerState savedTrainer;
    /** Parameters renamed to their initial value when they got their slot: name -> initial value's name. */
    final Map<String, String> renamedToInitial = new HashMap<>();
    /** Whether computations check their inputs and results for NaN and infinite values. */
    volatile boolean checkFinite;
    /**
     * Counts the changes of the graph's structure made through this library (each ends a {@code writeLocked}
     * change): what is derived from the structure, such as the placeholders a variable needs, is valid for one count.
     */
    volatile long structureVersion;
    /**
     * The graph's execution plans, weakly: plans reference the graph, and this state must not (the graph's views
     * and trainers hold the plans strongly, so they live while the graph is used).
     */
    private WeakReference<ExecutionPlans> plans = new WeakReference<>(null);
    /** The placeholders upstream of some variables, for the structure they were walked in. */
    private final Map<List<String>, Upstream> upstreamPlaceholders = new ConcurrentHashMap<>();

    private record Upstream(long version, int ops, int variables, Set<String> placeholders) {
    }

    /** Gradient functions of other loss variables than the graph's current ones, by loss variables, oldest first. */
    private final LinkedHashMap<List<String>, KeptGradient> keptGradients = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<String>, KeptGradient> eldest) {
            return size() > MAX_KEPT_GRADIENTS;
        }
    };

    /** A gradient function and the structure of the graph it was built for. */
    private record KeptGradient(SameDiff function, long version, int ops, int variables) {
    }

    /** Gradient functions kept per graph: each holds a copy of the graph's ops (not of its parameters' arrays). */
    private static final int MAX_KEPT_GRADIENTS = 8;

    /** Bounds the remembered walks for callers that ask for ever new sets of variables. */
    private static final int MAX_REMEMBERED_TARGETS = 64;

    private GraphState() {
    }

    static GraphState of(SameDiff sd) {
        return STATES.computeIfAbsent(sd, k -> new GraphState());
    }

    /** The graph's execution plans, made if none are held any more. */
    synchronized ExecutionPlans plans() {
        ExecutionPlans held = plans.get();
        if (held == null) {
            held = new ExecutionPlans(this);
            plans = new WeakReference<>(held);
        }
        return held;
    }

    /**
     * The placeholders that computing {@code targets} needs ({@link GraphWalk#placeholdersUpstreamOf}), walked once
     * per structure: a public call checks its feed and runs with one walk, and repeated calls with none. Ops and
     * variables that a user adds to the SameDiff instance directly (outside this library's locks) also start a new
     * walk, since they change the counts.
     */
    Set<String> placeholdersUpstreamOf(SameDiff sd, List<String> targets) {
        long version = structureVersion;
        int ops = sd.getOps().size();
        int variables = sd.getVariables().size();
        Upstream known = upstreamPlaceholders.get(targets);
        if (known != null && known.version == version && known.ops == ops && known.variables == variables) {
            return known.placeholders;
        }
        Set<String> placeholders = Collections.unmodifiableSet(GraphWalk.placeholdersUpstreamOf(sd, targets));
        if (upstreamPlaceholders.size() >= MAX_REMEMBERED_TARGETS) {
            upstreamPlaceholders.clear();
        }
        upstreamPlaceholders.put(List.copyOf(targets), new Upstream(version, ops, variables, placeholders));
        return placeholders;
    }

    /** Keeps {@code function}, the gradient function of {@code loss} in the graph's present structure. */
    synchronized void keepGradientFunction(SameDiff sd, List<String> loss, SameDiff function) {
        keptGradients.put(loss, new KeptGradient(function, structureVersion, sd.getOps().size(),
                sd.getVariables().size()));
    }

    /**
     * The gradient function kept for {@code loss}, taken out of the kept ones, if the graph's structure is the one it
     * was built for and its trainable and constant variables still hold the graph's arrays (it shares them, and reads
     * the parameters' values from them); else null.
     */
    synchronized SameDiff keptGradientFunction(SameDiff sd, List<String> loss) {
        KeptGradient kept = keptGradients.remove(loss);
        if (kept == null || kept.version != structureVersion || kept.ops != sd.getOps().size()
                || kept.variables != sd.getVariables().size()) {
            return null;
        }
        for (SDVariable v : sd.variables()) {
            VariableType type = v.getVariableType();
            if ((type == VariableType.VARIABLE || type == VariableType.CONSTANT)
                    && (!kept.function.hasVariable(v.name())
                    || kept.function.getArrForVarName(v.name()) != sd.getArrForVarName(v.name()))) {
                return null;
            }
        }
        return kept.function;
    }

    /** Whether {@code function} is a gradient function kept for other loss variables (its plans stay useful). */
    synchronized boolean keepsGradientFunction(SameDiff function) {
        for (KeptGradient k : keptGradients.values()) {
            if (k.function == function) {
                return true;
            }
        }
        return false;
    }

    /** The parameter whose initial value is the variable {@code name}, or null. */
    ParameterRecord ownerOfInitial(String name) {
        for (ParameterRecord r : parameters.values()) {
            if (name.equals(r.initialName)) {
                return r;
            }
        }
        return null;
    }
}
