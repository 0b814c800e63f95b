package org.mutablemodules.samediff;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.mutablemodules.samediff.internal.GraphEdits;
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
                GraphEdits.removeVariable(sd, name);
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
            GraphEdits.removeOp(sd, op.getName());
            for (String out : outputs) {
                if (sd.getVariables().containsKey(out)) {
                    GraphEdits.removeVariable(sd, out);
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
}
