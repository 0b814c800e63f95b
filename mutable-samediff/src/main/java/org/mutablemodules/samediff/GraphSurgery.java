package org.mutablemodules.samediff;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.learning.GradientUpdater;

/**
 * Edits of a SameDiff graph's structure that SameDiff itself does not offer.
 *
 * <p>SameDiff keeps each edge twice: an op lists its inputs ({@code SameDiffOp.inputsToOp}) and a variable lists
 * the ops that consume it ({@code Variable.inputsForOp}). Execution and backprop follow both, so every edit here
 * keeps the two directions consistent.
 */
final class GraphSurgery {

    private GraphSurgery() {
    }

    /** The names of the ops that read {@code variable}, in a new list. */
    static List<String> consumers(SameDiff sd, String variable) {
        List<String> ops = sd.getVariables().get(variable).getInputsForOp();
        return ops == null ? new ArrayList<>() : new ArrayList<>(new LinkedHashSet<>(ops));
    }

    /** Makes {@code op} read {@code to} wherever it read {@code from} (every occurrence, so {@code x + x} stays whole). */
    static void replaceInput(SameDiff sd, String op, String from, String to) {
        SameDiffOp sdOp = sd.getOps().get(op);
        List<String> inputs = new ArrayList<>(sdOp.getInputsToOp());
        inputs.replaceAll(name -> name.equals(from) ? to : name);
        sdOp.setInputsToOp(inputs);

        Variable source = sd.getVariables().get(from);
        if (source.getInputsForOp() != null) {
            List<String> remaining = new ArrayList<>(source.getInputsForOp());
            remaining.removeIf(op::equals);
            source.setInputsForOp(remaining);
        }
        Variable target = sd.getVariables().get(to);
        List<String> targetConsumers = target.getInputsForOp() == null
                ? new ArrayList<>() : new ArrayList<>(target.getInputsForOp());
        if (!targetConsumers.contains(op)) {
            targetConsumers.add(op);
        }
        target.setInputsForOp(targetConsumers);
    }

    /**
     * Renames a variable, carrying its updater state along: SameDiff's own rename leaves the updater keyed by the
     * old name, which would make the next {@code fit} fail for a graph that was already trained.
     */
    @SuppressWarnings("rawtypes") // SameDiff declares its updater map with the raw type
    static void rename(SameDiff sd, String from, String to) {
        sd.renameVariable(from, to);
        Map<String, GradientUpdater> updaters = sd.getUpdaterMap();
        if (updaters != null && updaters.containsKey(from)) {
            updaters.put(to, updaters.remove(from));
        }
    }

    /** True when computing {@code start} needs the value of {@code target} (or {@code start} is {@code target}). */
    static boolean dependsOn(SameDiff sd, String start, String target) {
        Map<String, Variable> variables = sd.getVariables();
        Set<String> seen = new HashSet<>();
        Deque<String> pending = new ArrayDeque<>();
        pending.push(start);
        while (!pending.isEmpty()) {
            String name = pending.pop();
            if (name.equals(target)) {
                return true;
            }
            if (!seen.add(name)) {
                continue;
            }
            Variable v = variables.get(name);
            if (v == null) {
                continue;
            }
            if (v.getControlDeps() != null) {
                v.getControlDeps().forEach(pending::push);
            }
            if (v.getOutputOfOp() != null) {
                SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
                if (op.getInputsToOp() != null) {
                    op.getInputsToOp().forEach(pending::push);
                }
                if (op.getControlDeps() != null) {
                    op.getControlDeps().forEach(pending::push);
                }
            }
        }
        return false;
    }

    /** The names of the ops whose outputs computing {@code start} needs. */
    static Set<String> opsUpstreamOf(SameDiff sd, String start) {
        Set<String> ops = new HashSet<>();
        Set<String> seen = new HashSet<>();
        Deque<String> pending = new ArrayDeque<>(List.of(start));
        while (!pending.isEmpty()) {
            String name = pending.pop();
            if (!seen.add(name)) {
                continue;
            }
            Variable v = sd.getVariables().get(name);
            if (v != null && v.getOutputOfOp() != null && ops.add(v.getOutputOfOp())) {
                SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
                if (op.getInputsToOp() != null) {
                    op.getInputsToOp().forEach(pending::push);
                }
            }
        }
        return ops;
    }

    /** The placeholders that must be fed to compute the given variables. */
    static Set<String> placeholdersUpstreamOf(SameDiff sd, String... starts) {
        Set<String> found = new TreeSet<>();
        Set<String> seen = new HashSet<>();
        Deque<String> pending = new ArrayDeque<>(List.of(starts));
        while (!pending.isEmpty()) {
            String name = pending.pop();
            if (!seen.add(name)) {
                continue;
            }
            Variable v = sd.getVariables().get(name);
            if (v.getVariable().getVariableType() == VariableType.PLACEHOLDER) {
                found.add(name);
            }
            if (v.getOutputOfOp() != null) {
                SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
                if (op.getInputsToOp() != null) {
                    op.getInputsToOp().forEach(pending::push);
                }
            }
        }
        return found;
    }

    /**
     * Drops what SameDiff derived from the old structure: the cached gradient function (otherwise
     * {@code calculateGradients} answers for the old graph), the per-variable gradient links that point into it,
     * and the per-thread execution sessions.
     */
    static void invalidateDerivedState(SameDiff sd) {
        sd.getSessions().clear();
        if (!sd.hasGradientFunction()) {
            // Nothing derived to drop; skipping the walk over all variables keeps long mutation chains linear.
            return;
        }
        // setLossVariables is SameDiff's public way of dropping the gradient function.
        sd.setLossVariables(sd.getLossVariables().toArray(new String[0]));
        for (Variable v : sd.getVariables().values()) {
            v.setGradient(null);
        }
    }

    /** Converts a VARIABLE that no op reads any more into a constant, so training and gradient checks skip it. */
    static void freezeIfUnused(SameDiff sd, String variable) {
        SDVariable v = sd.getVariable(variable);
        if (v.getVariableType() == VariableType.VARIABLE && consumers(sd, variable).isEmpty()) {
            sd.convertToConstant(v);
        }
    }

    /** Converts a constant back into a trainable VARIABLE. */
    static void unfreeze(SameDiff sd, String variable) {
        SDVariable v = sd.getVariable(variable);
        if (v.getVariableType() == VariableType.CONSTANT) {
            sd.convertToVariable(v);
        }
    }

    /**
     * Removes {@code start} if nothing reads it and {@code removable} accepts it, then, in turn, whatever fed it that
     * is left unread and removable: the dead end of a mutation chain that a parameter no longer reads. Trainable
     * {@code VARIABLE}s and placeholders are never removed; an op goes only when all its outputs go.
     *
     * @return the names of the removed variables
     */
    static List<String> removeUnread(SameDiff sd, String start, java.util.function.Predicate<String> removable) {
        List<String> removed = new ArrayList<>();
        Deque<String> pending = new ArrayDeque<>();
        pending.push(start);
        while (!pending.isEmpty()) {
            String name = pending.pop();
            Variable v = sd.getVariables().get(name);
            if (v == null || !unread(v) || !removable.test(name) || sd.getLossVariables().contains(name)) {
                continue;
            }
            VariableType type = v.getVariable().getVariableType();
            if (type == VariableType.VARIABLE || type == VariableType.PLACEHOLDER) {
                continue;
            }
            if (v.getOutputOfOp() == null) {
                removeVariable(sd, name);
                removed.add(name);
                continue;
            }
            SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
            List<String> outputs = op.getOutputsOfOp() == null ? List.of(name) : op.getOutputsOfOp();
            boolean allDead = true;
            for (String out : outputs) {
                Variable o = sd.getVariables().get(out);
                allDead &= o == null || unread(o) && removable.test(out) && !sd.getLossVariables().contains(out);
            }
            if (!allDead) {
                continue;
            }
            List<String> inputs = op.getInputsToOp() == null ? List.of() : new ArrayList<>(op.getInputsToOp());
            unlinkOp(sd, op.getName(), inputs);
            sd.getOps().remove(op.getName());
            for (String out : outputs) {
                if (sd.getVariables().containsKey(out)) {
                    removeVariable(sd, out);
                    removed.add(out);
                }
            }
            inputs.forEach(pending::push);
        }
        if (!removed.isEmpty()) {
            sd.getSessions().clear();
        }
        return removed;
    }

    private static boolean unread(Variable v) {
        return (v.getInputsForOp() == null || v.getInputsForOp().isEmpty())
                && (v.getControlDepsForOp() == null || v.getControlDepsForOp().isEmpty())
                && (v.getControlDepsForVar() == null || v.getControlDepsForVar().isEmpty());
    }

    private static void unlinkOp(SameDiff sd, String op, List<String> inputs) {
        for (String input : inputs) {
            Variable in = sd.getVariables().get(input);
            if (in != null && in.getInputsForOp() != null) {
                List<String> remaining = new ArrayList<>(in.getInputsForOp());
                remaining.removeIf(op::equals);
                in.setInputsForOp(remaining);
            }
        }
    }

    private static void removeVariable(SameDiff sd, String name) {
        Variable v = sd.getVariables().remove(name);
        VariableType type = v.getVariable().getVariableType();
        if (type == VariableType.CONSTANT && sd.getConstantArrays().hasArray(name)) {
            sd.getConstantArrays().removeArray(name);
        } else if (type == VariableType.VARIABLE && sd.getVariablesArrays().hasArray(name)) {
            sd.getVariablesArrays().removeArray(name);
        }
    }

    /** Records which variables and ops exist, so that everything added after it can be removed again. */
    static Snapshot snapshot(SameDiff sd) {
        return new Snapshot(sd);
    }

    /**
     * The graph's structure at one moment. {@link #rollback()} removes every variable and op added since, including
     * the consumer links that new ops left on older variables; it cannot undo edits of older ops, so callers take a
     * snapshot before anything that only adds (building an expression) and validate before they rewire.
     */
    static final class Snapshot {
        private final SameDiff sd;
        private final Set<String> variables;
        private final Set<String> ops;

        private Snapshot(SameDiff sd) {
            this.sd = sd;
            this.variables = new HashSet<>(sd.getVariables().keySet());
            this.ops = new HashSet<>(sd.getOps().keySet());
        }

        void rollback() {
            List<String> newOps = new ArrayList<>(sd.getOps().keySet());
            newOps.removeAll(ops);
            List<String> newVariables = new ArrayList<>(sd.getVariables().keySet());
            newVariables.removeAll(variables);

            for (String op : newOps) {
                SameDiffOp sdOp = sd.getOps().get(op);
                if (sdOp.getInputsToOp() != null) {
                    unlinkOp(sd, op, sdOp.getInputsToOp());
                }
                sd.getOps().remove(op);
            }
            for (String name : newVariables) {
                removeVariable(sd, name);
            }
            if (!newOps.isEmpty() || !newVariables.isEmpty()) {
                sd.getSessions().clear();
            }
        }
    }
}
