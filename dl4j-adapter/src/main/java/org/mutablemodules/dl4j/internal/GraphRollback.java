package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;

/**
 * The structure of a SameDiff graph at one moment, to undo additions: {@link #rollback()} removes every variable and
 * op added since, and the consumer links new ops left on older variables. It cannot undo edits of older ops, so it
 * guards code that only adds (building an expression).
 */
final class GraphRollback {

    private final SameDiff sd;
    private final Set<String> variables;
    private final Set<String> ops;

    private GraphRollback(SameDiff sd) {
        this.sd = sd;
        this.variables = new HashSet<>(sd.getVariables().keySet());
        this.ops = new HashSet<>(sd.getOps().keySet());
    }

    static GraphRollback of(SameDiff sd) {
        return new GraphRollback(sd);
    }

    void rollback() {
        List<String> newOps = new ArrayList<>(sd.getOps().keySet());
        newOps.removeAll(ops);
        List<String> newVariables = new ArrayList<>(sd.getVariables().keySet());
        newVariables.removeAll(variables);
        for (String op : newOps) {
            SameDiffOp sdOp = sd.getOps().get(op);
            if (sdOp.getInputsToOp() != null) {
                for (String input : sdOp.getInputsToOp()) {
                    Variable in = sd.getVariables().get(input);
                    if (in != null && in.getInputsForOp() != null) {
                        List<String> remaining = new ArrayList<>(in.getInputsForOp());
                        remaining.removeIf(op::equals);
                        in.setInputsForOp(remaining);
                    }
                }
            }
            sd.getOps().remove(op);
        }
        for (String name : newVariables) {
            Variable v = sd.getVariables().remove(name);
            VariableType type = v.getVariable().getVariableType();
            if (type == VariableType.CONSTANT && sd.getConstantArrays().hasArray(name)) {
                sd.getConstantArrays().removeArray(name);
            } else if (type == VariableType.VARIABLE && sd.getVariablesArrays().hasArray(name)) {
                sd.getVariablesArrays().removeArray(name);
            }
        }
        if (!newOps.isEmpty() || !newVariables.isEmpty()) {
            sd.getSessions().clear();
        }
    }
}
