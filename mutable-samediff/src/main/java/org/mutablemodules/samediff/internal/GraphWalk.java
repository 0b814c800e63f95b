package org.mutablemodules.samediff.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;

/**
 * The one walk up a SameDiff graph that every module uses: from some variables to everything computing them needs.
 * It follows {@code Variable.outputOfOp} and the op's {@code inputsToOp}, as SameDiff's execution does (not the order
 * of the ops map), and optionally control dependencies. Names that the graph does not hold are passed over.
 */
public final class GraphWalk {

    private GraphWalk() {
    }

    /**
     * Visits every variable upstream of {@code starts} once, the starts included, depth first.
     *
     * @param sd             the graph
     * @param starts         where the walk begins
     * @param controlEdges   whether to follow control dependencies (of variables and of ops) too
     * @param visitor        called with each variable; returning false ends the walk
     * @return false if the visitor ended the walk, true if it saw everything
     */
    public static boolean upstream(SameDiff sd, Collection<String> starts, boolean controlEdges,
                                   Predicate<Variable> visitor) {
        Set<String> seen = new HashSet<>();
        Deque<String> pending = new ArrayDeque<>(starts);
        while (!pending.isEmpty()) {
            String name = pending.pop();
            if (!seen.add(name)) {
                continue;
            }
            Variable v = sd.getVariables().get(name);
            if (v == null) {
                continue;
            }
            if (!visitor.test(v)) {
                return false;
            }
            if (controlEdges && v.getControlDeps() != null) {
                v.getControlDeps().forEach(pending::push);
            }
            SameDiffOp op = v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
            if (op == null) {
                continue;
            }
            if (op.getInputsToOp() != null) {
                op.getInputsToOp().forEach(pending::push);
            }
            if (controlEdges && op.getControlDeps() != null) {
                op.getControlDeps().forEach(pending::push);
            }
        }
        return true;
    }

    /**
     * The placeholders that must be fed to compute the given variables.
     *
     * @param sd     the graph
     * @param starts the variables to compute
     * @return their names, sorted
     */
    public static Set<String> placeholdersUpstreamOf(SameDiff sd, Collection<String> starts) {
        Set<String> found = new TreeSet<>();
        upstream(sd, starts, false, v -> {
            if (v.getVariable().getVariableType() == VariableType.PLACEHOLDER) {
                found.add(v.getName());
            }
            return true;
        });
        return found;
    }

    /**
     * Whether computing {@code start} needs the value of {@code target}, through data or control edges ({@code start}
     * equal to {@code target} included). Stops as soon as it finds it.
     *
     * @param sd     the graph
     * @param start  the variable computed
     * @param target the variable looked for
     * @return true if {@code start} depends on {@code target}
     */
    public static boolean dependsOn(SameDiff sd, String start, String target) {
        if (start.equals(target)) {
            return true;
        }
        return !upstream(sd, List.of(start), true, v -> !v.getName().equals(target));
    }

    /**
     * The names of the ops whose outputs computing {@code start} needs.
     *
     * @param sd    the graph
     * @param start the variable computed
     * @return the ops' names
     */
    public static Set<String> opsUpstreamOf(SameDiff sd, String start) {
        Set<String> ops = new HashSet<>();
        upstream(sd, List.of(start), false, v -> {
            if (v.getOutputOfOp() != null) {
                ops.add(v.getOutputOfOp());
            }
            return true;
        });
        return ops;
    }

    /**
     * The ops computing {@code targets} needs, each once, in an order that runs every op after the ops producing its
     * inputs (depth first from the targets, in the order named, inputs in the op's order). Control dependencies are
     * not followed. Iterative, so that graphs thousands of ops deep do not exhaust the stack.
     *
     * @param sd      the graph
     * @param targets the variables to compute
     * @return the ops, inputs first
     * @throws IllegalStateException if the ops form a cycle, or a computed variable has no producing op
     */
    public static List<SameDiffOp> opsInExecutionOrder(SameDiff sd, Collection<String> targets) {
        List<SameDiffOp> order = new ArrayList<>();
        Set<String> done = new HashSet<>();
        Set<String> open = new HashSet<>();
        // Each frame is an op and the index of its next input to visit.
        Deque<Object[]> stack = new ArrayDeque<>();
        for (String target : targets) {
            SameDiffOp first = producer(sd, target);
            if (first == null || done.contains(first.getName())) {
                continue;
            }
            open.add(first.getName());
            stack.push(new Object[] {first, 0});
            while (!stack.isEmpty()) {
                Object[] frame = stack.peek();
                SameDiffOp op = (SameDiffOp) frame[0];
                List<String> inputs = op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
                int next = (Integer) frame[1];
                if (next == inputs.size()) {
                    stack.pop();
                    open.remove(op.getName());
                    done.add(op.getName());
                    order.add(op);
                    continue;
                }
                frame[1] = next + 1;
                SameDiffOp input = producer(sd, inputs.get(next));
                if (input == null || done.contains(input.getName())) {
                    continue;
                }
                if (!open.add(input.getName())) {
                    throw new IllegalStateException("The ops of the graph form a cycle through op \""
                            + input.getName() + "\".");
                }
                stack.push(new Object[] {input, 0});
            }
        }
        return order;
    }

    /** The op computing a variable; null for placeholders, variables and constants. */
    private static SameDiffOp producer(SameDiff sd, String name) {
        Variable v = sd.getVariables().get(name);
        if (v == null) {
            throw new IllegalStateException("The graph has no variable \"" + name + "\".");
        }
        VariableType type = v.getVariable().getVariableType();
        if (type != VariableType.ARRAY) {
            return null;
        }
        SameDiffOp op = v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
        if (op == null) {
            throw new IllegalStateException("Variable \"" + name + "\" is computed, but no op of the graph produces it.");
        }
        return op;
    }
}
