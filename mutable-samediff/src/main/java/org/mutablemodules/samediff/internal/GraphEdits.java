package org.mutablemodules.samediff.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;

/**
 * Removing ops and variables from a SameDiff graph, which has no calls for it in ND4J 1.0.0-M2.1: the maps are edited
 * directly (as ND4J's own {@code GraphTransformUtil} does), keeping both directions of every link consistent, and
 * {@link Snapshot} undoes additions with them.
 */
public final class GraphEdits {

    private GraphEdits() {
    }

    /**
     * Removes an op and its consumer links on its inputs; its outputs stay (remove them with {@link #removeVariable}).
     *
     * @param sd the graph
     * @param op the op's name
     */
    public static void removeOp(SameDiff sd, String op) {
        SameDiffOp sdOp = sd.getOps().remove(op);
        if (sdOp == null || sdOp.getInputsToOp() == null) {
            return;
        }
        for (String input : sdOp.getInputsToOp()) {
            Variable in = sd.getVariables().get(input);
            if (in != null && in.getInputsForOp() != null) {
                List<String> remaining = new ArrayList<>(in.getInputsForOp());
                remaining.removeIf(op::equals);
                in.setInputsForOp(remaining);
            }
        }
    }

    /**
     * Removes a variable and the array SameDiff holds for it (a constant's or a variable's).
     *
     * @param sd   the graph
     * @param name the variable's name
     */
    public static void removeVariable(SameDiff sd, String name) {
        Variable v = sd.getVariables().remove(name);
        if (v == null) {
            return;
        }
        VariableType type = v.getVariable().getVariableType();
        if (type == VariableType.CONSTANT && sd.getConstantArrays().hasArray(name)) {
            sd.getConstantArrays().removeArray(name);
        } else if (type == VariableType.VARIABLE && sd.getVariablesArrays().hasArray(name)) {
            sd.getVariablesArrays().removeArray(name);
        }
    }

    /**
     * Takes a snapshot of the graph's structure, to undo additions.
     *
     * @param sd the graph
     * @return the snapshot
     */
    public static Snapshot snapshot(SameDiff sd) {
        return new Snapshot(sd);
    }

    /**
     * The graph's structure at one moment. {@link #rollback()} removes every variable and op added since, including
     * the consumer links that new ops left on older variables; it cannot undo edits of older ops, so callers take a
     * snapshot before anything that only adds (building an expression) and validate before they rewire.
     */
    public static final class Snapshot {
        private final SameDiff sd;
        private final Set<String> variables;
        private final Set<String> ops;

        private Snapshot(SameDiff sd) {
            this.sd = sd;
            this.variables = new HashSet<>(sd.getVariables().keySet());
            this.ops = new HashSet<>(sd.getOps().keySet());
        }

        /** Removes every op and variable added since the snapshot; drops SameDiff's sessions if anything went. */
        public void rollback() {
            List<String> newOps = new ArrayList<>(sd.getOps().keySet());
            newOps.removeAll(ops);
            List<String> newVariables = new ArrayList<>(sd.getVariables().keySet());
            newVariables.removeAll(variables);
            newOps.forEach(op -> removeOp(sd, op));
            newVariables.forEach(name -> removeVariable(sd, name));
            if (!newOps.isEmpty() || !newVariables.isEmpty()) {
                sd.getSessions().clear();
            }
        }
    }
}
