package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.List;
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
 * How a variable becomes a mutable parameter: checked, recorded dormant, given its slot on first use
 * ({@code name/init + 0}), and recognised again in a loaded graph. Called by {@link MutableGraph} and
 * {@link MutableParameter} under the graph's write lock.
 */
final class ParameterSlots {

    private ParameterSlots() {
    }

    /** Refuses, by name, a variable that cannot be made a mutable parameter. */
    static void checkConvertible(SameDiff sd, GraphState state, String name, boolean constantsToo) {
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

    /**
     * Records a parameter, dormant: the graph is not changed until the parameter is first changed or its value read
     * as an expression ({@link #materialize}), so a parameter that is never mutated costs nothing when the graph runs.
     */
    static void register(SameDiff sd, GraphState state, String name) {
        SDVariable parameter = sd.getVariable(name);
        long[] shape = parameter.getArr().shape();
        state.knownShapes.put(name, shape.clone());
        ParameterRecord record = new ParameterRecord(name, null, null, shape, parameter.dataType(),
                History.of(name + ":init"));
        // A constant (named to withConstants) keeps its value fixed, as after freezeInitial().
        record.initialPinned = parameter.getVariableType() == VariableType.CONSTANT;
        state.parameters.put(name, record);
    }

    /**
     * Gives a dormant parameter its slot: the variable is renamed {@code name/init} (keeping its array and updater
     * state), a new {@code ARRAY} variable {@code name} is computed from it ({@code name/init + 0}), and every op that
     * read the parameter and is in {@code readers} (all readers when null) now reads that variable. Ops not in
     * {@code readers} (those a mutation has just built from the parameter's value) keep reading the initial value,
     * which is the value before that mutation.
     */
    static void materialize(SameDiff sd, GraphState state, ParameterRecord record, Set<String> readers) {
        String name = record.name;
        String initialName = uniqueName(sd, name + "/init");
        GraphSurgery.rename(sd, name, initialName);
        List<String> consumers = GraphSurgery.consumers(sd, initialName);
        if (readers != null) {
            consumers.retainAll(readers);
        }

        // The slot is "x + 0", not ND4J's identity op: in 1.0.0-M2.1 InferenceSession short-cuts identity ops in a
        // way that leaves their gradient arrays null during sd.fit. add_scalar passes its gradient straight through.
        SDVariable slot = inScope(sd, name + "/slot", () -> sd.getVariable(initialName).add(0.0));
        String slotOp = sd.getVariables().get(slot.name()).getOutputOfOp();
        GraphSurgery.rename(sd, slot.name(), name);
        for (String op : consumers) {
            GraphSurgery.replaceInput(sd, op, initialName, name);
        }
        state.knownShapes.put(name, record.shape.clone());
        state.renamedToInitial.put(name, initialName);
        record.initialName = initialName;
        record.slotOp = slotOp;
        GraphSurgery.invalidateDerivedState(sd);
    }

    /**
     * Finds parameters converted before the graph was saved: an {@code ARRAY} variable {@code X} produced by an
     * slot op ({@code + 0}), next to a variable {@code X/init} that is not an op's output.
     */
    static void recoverLoaded(SameDiff sd, GraphState state) {
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

    private static boolean isSlot(DifferentialFunction fn) {
        return fn instanceof ScalarAdd && ((ScalarAdd) fn).scalar() != null && ((ScalarAdd) fn).scalar().getDouble(0) == 0.0;
    }

    /** {@code base}, or {@code base_1}, {@code base_2}, ... : the first name no variable of {@code sd} has. */
    static String uniqueName(SameDiff sd, String base) {
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
}
