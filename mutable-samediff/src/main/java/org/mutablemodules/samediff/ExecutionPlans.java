package org.mutablemodules.samediff;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mutablemodules.samediff.internal.ExecutionPlan;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The execution plans of one graph: every computation of this library ({@link MutableGraph#output},
 * {@link MutableGraph#gradients}, {@link GraphTrainer} steps) runs through an {@link ExecutionPlan} compiled once
 * per requested set of results, instead of SameDiff's session, which redoes its planning at every call.
 *
 * <p>Plans are dropped when the graph's structure changes: each change through this library counts up
 * {@link GraphState#structureVersion}, and ops or variables added to the SameDiff instance directly change its
 * counts; a rebuilt gradient function is a new SameDiff instance. A computation a plan cannot run (control flow and
 * the like) goes to SameDiff's session for that structure, logged once at DEBUG with the ops at fault (at WARN in
 * strict mode, so that test runs show every fallback); so does a graph with SameDiff listeners, which observe the
 * session's steps.
 *
 * <p>System properties: {@value #CHECK_PROPERTY}{@code =strict} runs the session beside the plan at every call and
 * throws {@link IllegalStateException} on any byte of difference (graphs with random ops: shapes and types only);
 * {@value #EXECUTION_PROPERTY}{@code =session} runs everything through the session (for comparisons).
 *
 * <p>A plan references its graph, so this object must not be reachable from the weakly keyed {@link GraphState}
 * except weakly: the graph's views and trainers hold it.
 */
final class ExecutionPlans {

    /** System property: {@code strict} checks every plan's results against the session's. */
    static final String CHECK_PROPERTY = "mutablemodules.planCheck";
    /** System property: {@code session} runs every computation through SameDiff's session. */
    static final String EXECUTION_PROPERTY = "mutablemodules.execution";

    private static final Logger LOG = LoggerFactory.getLogger(ExecutionPlans.class);
    /** Sets of requested results remembered per graph. */
    private static final int MAX_ENTRIES = 32;
    /** Idle plans kept per set of results: one per concurrent caller, as many as usually run at once. */
    private static final int MAX_IDLE = Math.max(2, Runtime.getRuntime().availableProcessors());

    private final GraphState state;
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

    /**
     * What is computed: forward results of the graph or of one of its gradient functions (by identity: one per loss is
     * kept), owned by the caller or not.
     */
    private record Key(boolean gradientFunction, int function, List<String> outputs, boolean owned) {
    }

    /** The plans of one key, for one structure of the graph. */
    private static final class Entry {
        final SameDiff function;
        final long version;
        final int ops;
        final int variables;
        final ArrayDeque<ExecutionPlan> idle = new ArrayDeque<>();
        /** Why plans cannot run this computation; null if they can. */
        final String refusal;

        Entry(SameDiff function, long version, String refusal) {
            this.function = function;
            this.version = version;
            this.ops = function.getOps().size();
            this.variables = function.getVariables().size();
            this.refusal = refusal;
        }

        boolean current(SameDiff f, long v) {
            return function == f && version == v && ops == f.getOps().size() && variables == f.getVariables().size();
        }
    }

    /** Forward results and gradients (keyed by the variable differentiated), as SameDiff's {@code OutAndGrad}. */
    record Results(Map<String, INDArray> outputs, Map<String, INDArray> gradients) {
    }

    ExecutionPlans(GraphState state) {
        this.state = state;
    }

    /**
     * Computes {@code outputs} as {@code sd.output(feed, outputs)} does; the results are the caller's.
     */
    Map<String, INDArray> output(SameDiff sd, Map<String, INDArray> feed, List<String> outputs) {
        return run(sd, false, feed, outputs, true, () -> sd.output(new HashMap<>(feed), outputs));
    }

    /**
     * Computes {@code outputs} and the gradients of the loss variables with respect to {@code wrt}, as
     * {@code sd.calculateGradientsAndOutputs(feed, outputs, wrt)} does; the gradient function must exist. Variables
     * without a gradient variable are left out of the gradients.
     *
     * @param owned whether the results are the caller's; if not, they are valid until the next call
     */
    Results outputsAndGradients(SameDiff sd, Map<String, INDArray> feed, List<String> outputs, List<String> wrt,
                                boolean owned) {
        List<String> names = new ArrayList<>(outputs);
        Map<String, String> gradientNames = new LinkedHashMap<>();
        for (String v : wrt) {
            SDVariable gradient = sd.getVariable(v).getGradient();
            if (gradient != null) {
                gradientNames.put(v, gradient.name());
                names.add(gradient.name());
            }
        }
        if (names.isEmpty()) {
            return new Results(Map.of(), Map.of());
        }
        Map<String, INDArray> values = run(sd, true, feed, names, owned, () -> {
            var session = sd.calculateGradientsAndOutputs(new HashMap<>(feed), outputs, gradientNames.keySet());
            Map<String, INDArray> byName = new HashMap<>(session.getOutputs());
            gradientNames.forEach((v, g) -> byName.put(g, session.getGradients().get(v)));
            return byName;
        });
        Map<String, INDArray> forward = new LinkedHashMap<>();
        for (String o : outputs) {
            forward.put(o, values.get(o));
        }
        Map<String, INDArray> gradients = new LinkedHashMap<>();
        gradientNames.forEach((v, g) -> gradients.put(v, values.get(g)));
        return new Results(forward, gradients);
    }

    /** The session's results for the same computation, keyed by the names the plan computes. */
    private interface Session {
        Map<String, INDArray> run();
    }

    private Map<String, INDArray> run(SameDiff sd, boolean gradientFunction, Map<String, INDArray> feed,
                                      List<String> names, boolean owned, Session session) {
        if ("session".equals(System.getProperty(EXECUTION_PROPERTY)) || !sd.getListeners().isEmpty()) {
            return session.run();
        }
        SameDiff function = gradientFunction ? sd.getFunction(GradientFunctions.GRADIENT_FUNCTION) : sd;
        Key key = new Key(gradientFunction, gradientFunction ? System.identityHashCode(function) : 0,
                List.copyOf(names), owned);
        Entry entry;
        ExecutionPlan plan;
        synchronized (this) {
            entry = entry(key, function);
            plan = entry.idle.poll();
        }
        if (entry.refusal != null) {
            return session.run();
        }
        if (plan == null) {
            plan = ExecutionPlan.compile(function, key.outputs(), owned);
        }
        Map<String, INDArray> results = strict() ? checked(plan, feed, session) : plan.run(feed);
        // Only a plan whose call completed is reused: one that failed half-way may hold half-made buffers.
        synchronized (this) {
            if (entries.get(key) == entry && entry.idle.size() < MAX_IDLE) {
                entry.idle.push(plan);
            }
        }
        return results;
    }

    /** The entry of a key for the function's current structure, made (and the plan's refusal found) if needed. */
    private Entry entry(Key key, SameDiff function) {
        long version = state.structureVersion;
        Entry entry = entries.get(key);
        if (entry != null && entry.current(function, version)) {
            return entry;
        }
        // The structure changed: plans of the old one are stale, as are those of a gradient function replaced and
        // not kept for another loss.
        entries.entrySet().removeIf(e -> !e.getValue().current(e.getValue().function, version)
                || e.getKey().gradientFunction() == key.gradientFunction() && e.getValue().function != function
                && !(key.gradientFunction() && state.keepsGradientFunction(e.getValue().function)));
        String refusal = null;
        ExecutionPlan first = null;
        try {
            first = ExecutionPlan.compile(function, key.outputs(), key.owned());
        } catch (UnsupportedOperationException e) {
            refusal = e.getMessage();
            if (strict()) {
                LOG.warn("SameDiff's session runs {} of this graph: {}", key.outputs(), refusal);
            } else {
                LOG.debug("SameDiff's session runs {} of this graph: {}", key.outputs(), refusal);
            }
        }
        entry = new Entry(function, version, refusal);
        if (first != null) {
            entry.idle.push(first);
        }
        entries.put(key, entry);
        if (entries.size() > MAX_ENTRIES) {
            Iterator<Key> eldest = entries.keySet().iterator();
            eldest.next();
            eldest.remove();
        }
        return entry;
    }

    private static boolean strict() {
        return "strict".equals(System.getProperty(CHECK_PROPERTY));
    }

    /** The idle plans of every current entry (tests read their counters). */
    synchronized List<ExecutionPlan> idlePlans() {
        List<ExecutionPlan> idle = new ArrayList<>();
        entries.values().forEach(e -> idle.addAll(e.idle));
        return idle;
    }

    /** Why computations of the current entries go to the session, keyed by their outputs (planned ones left out). */
    synchronized Map<List<String>, String> refusals() {
        Map<List<String>, String> refused = new LinkedHashMap<>();
        entries.forEach((k, e) -> {
            if (e.refusal != null) {
                refused.put(k.outputs(), e.refusal);
            }
        });
        return refused;
    }

    /**
     * Runs the session, then the plan from the same random generator state, and requires the same results to the
     * byte (shapes and types only when the plan draws random numbers, whose order of draws may differ).
     */
    private static Map<String, INDArray> checked(ExecutionPlan plan, Map<String, INDArray> feed, Session session) {
        Random rng = Nd4j.getRandom();
        long root = rng.rootState();
        long node = rng.nodeState();
        Map<String, INDArray> expected = session.run();
        rng.setStates(root, node);
        Map<String, INDArray> actual = plan.run(feed);
        for (String name : plan.outputs()) {
            requireSame(name, expected.get(name), actual.get(name), plan.randomOpCount() == 0);
        }
        return actual;
    }

    /**
     * Requires two results to be the same: shape, type and (if {@code values}) every byte.
     *
     * @throws IllegalStateException naming the variable and the first difference
     */
    static void requireSame(String name, INDArray session, INDArray plan, boolean values) {
        if (session == null || plan == null) {
            if (session != plan) {
                throw new IllegalStateException(Messages.format(Messages.PLAN_DIFFERS, name,
                        "session " + describe(session) + ", plan " + describe(plan)));
            }
            return;
        }
        if (session.dataType() != plan.dataType() || !Arrays.equals(session.shape(), plan.shape())
                || session.isEmpty() != plan.isEmpty()) {
            throw new IllegalStateException(Messages.format(Messages.PLAN_DIFFERS, name,
                    "session " + describe(session) + ", plan " + describe(plan)));
        }
        if (!values || session.isEmpty()) {
            return;
        }
        byte[] a = session.dup('c').data().asBytes();
        byte[] b = plan.dup('c').data().asBytes();
        int at = Arrays.mismatch(a, b);
        if (at >= 0) {
            long element = at / session.dataType().width();
            throw new IllegalStateException(Messages.format(Messages.PLAN_DIFFERS, name,
                    "element " + element + " is " + session.reshape(-1).getDouble(element) + " in the session and "
                            + plan.reshape(-1).getDouble(element) + " in the plan"));
        }
    }

    private static String describe(INDArray a) {
        return a == null ? "none" : a.dataType() + Arrays.toString(a.shape());
    }
}
