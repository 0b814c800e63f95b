package org.mutablemodules.samediff;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.BinaryOperator;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.mutablemodules.samediff.internal.GraphWalk;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One mutable parameter of a {@link MutableGraph}: the SameDiff counterpart of assigning to, or modifying in place,
 * a PyTorch module's parameter while autograd keeps working.
 *
 * <p>The parameter is the graph variable named {@link #name()}: an {@code ARRAY} variable, the output of a
 * pass-through op (its "slot") that every original consumer of the parameter reads. What feeds the slot is the
 * parameter's current
 * value. At first that is the parameter's initial value, the trainable {@code VARIABLE} named {@link #initial()}
 * (by default {@code name + "/init"}), which {@code sd.fit} keeps training. Each method below builds a new expression
 * from the current value and makes the slot read it, so
 * <ul>
 *   <li>mutations compose in the order they are written: {@code w.muli(0).addi(69)} gives 69 everywhere;</li>
 *   <li>gradients flow through the new expression to whatever produced it (an upstream network, another branch);</li>
 *   <li>every consumer of the parameter, including ones created later from {@link #value()}, sees the final value
 *       when the graph runs.</li>
 * </ul>
 * Once the initial value no longer feeds the parameter (after {@link #set}, {@link #fill}), it is converted to a
 * constant: it is no longer trained and no longer asks for a gradient. {@link #reset()} makes it trainable again.
 * When a value is replaced ({@code set}, {@code fill}, {@code reset}), what earlier mutations built for it and nothing
 * else reads (their ops and constants, named in the parameter's name scope) is removed from the graph, so that a loop
 * of replacing and computing keeps the graph's size constant; expressions of your own are never removed.
 *
 * <p>Every method checks its input before it changes anything: on an exception the graph is exactly as it was. A
 * handle whose graph was changed behind its back (a variable renamed or removed through SameDiff's own calls) is
 * refused with an {@link IllegalStateException}. Each change holds the graph's exclusive lock, so it is serialised
 * against {@link MutableGraph#output} and {@link MutableGraph#gradients} running in other threads (see
 * {@link MutableGraph}).
 */
public final class MutableParameter {

    private final MutableGraph graph;
    private final ParameterRecord record;

    MutableParameter(MutableGraph graph, ParameterRecord record) {
        this.graph = graph;
        this.record = record;
    }

    /** {@return the parameter's name: the name of the variable every consumer reads} */
    public String name() {
        return record.name;
    }

    /** {@return the parameter's shape, fixed when it was made mutable; every new value must have this shape} */
    public long[] shape() {
        return record.shape.clone();
    }

    /** {@return the parameter's data type, fixed when it was made mutable; every new value must have this type} */
    public DataType dataType() {
        return record.dataType;
    }

    /** {@return the graph this parameter belongs to} */
    public MutableGraph graph() {
        return graph;
    }

    /**
     * The variable holding the parameter's value (named {@link #name()}). Its value when the graph runs is the result
     * of every mutation made so far, and of any made later: to build a new value from the current one, use
     * {@link #apply(UnaryOperator)}, since an expression computed from this variable cannot feed the parameter.
     *
     * @return the variable holding the parameter's value (named {@code #name()})
     */
    public SDVariable value() {
        return graph.writeLocked(() -> {
            requireLive();
            if (record.dormant()) {
                if (record.applying) {
                    // Giving the parameter its slot now would make the function's result feed itself.
                    throw new IllegalArgumentException(Messages.format(Messages.CYCLE,
                            "value()", record.name, record.name, record.name));
                }
                ParameterSlots.materialize(sd(), graph.state(), record, null);
            }
            return sd().getVariable(record.name);
        });
    }

    /**
     * The variable holding the parameter's initial value: a trainable {@code VARIABLE} while it still feeds the
     * parameter, a constant after the parameter was replaced.
     *
     * @return the variable holding the parameter's initial value: a trainable {@code VARIABLE} while it still feeds the
     *     parameter, a constant after the parameter was replaced
     */
    public SDVariable initial() {
        return graph.writeLocked(() -> {
            requireLive();
            if (record.dormant()) {
                ParameterSlots.materialize(sd(), graph.state(), record, null);
            }
            return sd().getVariable(record.initialName);
        });
    }

    /**
     * {@return true while the parameter's value is still computed from its initial value (so training still updates
     *     it)}
     */
    public boolean usesInitialValue() {
        requireLive();
        return record.dormant() || GraphWalk.dependsOn(sd(), source().name(), record.initialName);
    }

    /**
     * A readable account of what produced the current value, like PyTorch's {@code grad_fn} chain, for example
     * {@code add(mul(W:init, 0.0), 69.0)}. {@code W:init} is the initial value; other variables appear by name.
     *
     * @return a readable account of what produced the current value, like PyTorch's {@code grad_fn} chain, for example
     *     {@code add(mul(W:init, 0.0), 69.0)}
     */
    public String history() {
        return record.history.toString();
    }

    /**
     * Feeds the parameter from {@code upstream}, an expression of the same SameDiff graph (the PyTorch
     * {@code module.weight = tensor}). Gradients of anything computed from the parameter flow to {@code upstream}.
     *
     * @param upstream the new value; same graph, same data type, and the parameter's shape (checked now where the
     *                 shape can be found, by a dry run if needed)
     * @return this parameter
     * @throws IllegalArgumentException if {@code upstream} belongs to another graph, has another data type or shape,
     *                                  or is computed from this parameter itself
     */
    public MutableParameter set(SDVariable upstream) {
        return set(upstream, null);
    }

    /** {@link #set(SDVariable)} with the text that stands for {@code upstream} in the history (null: its name). */
    MutableParameter set(SDVariable upstream, String historyLabel) {
        return graph.writeLocked(() -> setLocked(upstream, historyLabel));
    }

    private MutableParameter setLocked(SDVariable upstream, String historyLabel) {
        checkOperand(upstream, "set", true);
        long[] shape = shapeOf(upstream);
        if (shape != null && !Arrays.equals(shape, record.shape)) {
            throw new IllegalArgumentException(Messages.format(Messages.WRONG_SHAPE,
                    "\"" + upstream.name() + "\"", shape, record.name, record.shape));
        }
        replaceSource(upstream, History.of(historyLabel != null ? historyLabel : label(upstream)), false, null);
        return this;
    }

    /**
     * Feeds the parameter from a fixed value, copied into a new constant of the graph. Nothing upstream is trained.
     *
     * @param value the new value, of the parameter's shape and data type
     * @return this parameter
     * @throws IllegalArgumentException if the shape or the data type differs from the parameter's
     */
    public MutableParameter set(INDArray value) {
        Objects.requireNonNull(value, "value");
        return graph.writeLocked(() -> setLocked(value));
    }

    private MutableParameter setLocked(INDArray value) {
        requireLive();
        if (value.dataType() != record.dataType) {
            throw new IllegalArgumentException(Messages.format(Messages.WRONG_DATA_TYPE,
                    "an array", value.dataType(), record.name, record.dataType, record.dataType));
        }
        if (!Arrays.equals(value.shape(), record.shape)) {
            throw new IllegalArgumentException(Messages.format(Messages.WRONG_SHAPE,
                    "an array", value.shape(), record.name, record.shape));
        }
        if (graph.checksFinite() && FeedCheck.firstNonFinite(value) != null) {
            throw new IllegalArgumentException(Messages.format(Messages.NON_FINITE_VALUE, "set", record.name,
                    FeedCheck.firstNonFinite(value)));
        }
        SDVariable constant = sd().constant(uniqueName(record.name + "/value"), value.dup());
        replaceSource(constant, History.of("value(" + describe(record.dataType, record.shape) + ")"), false, null);
        return this;
    }

    /**
     * Sets every element of the parameter to {@code value} (PyTorch's {@code fill_}). Earlier values, the initial one
     * included, no longer affect the parameter and get no gradient through it.
     *
     * @param value the value of every element
     * @return this parameter
     */
    public MutableParameter fill(double value) {
        return graph.writeLocked(() -> fillLocked(value));
    }

    private MutableParameter fillLocked(double value) {
        requireLive();
        requireFinite("fill", value);
        SDVariable constant = sd().constant(uniqueName(record.name + "/fill"),
                Nd4j.valueArrayOf(record.shape, value, record.dataType));
        replaceSource(constant, History.of("fill(" + value + ")"), false, null);
        return this;
    }

    /**
     * Adds {@code value} to every element ({@code w += value}). @return this parameter
     *
     * @param value the number
     * @return this parameter, for chaining
     */
    public MutableParameter addi(double value) {
        return scalar("add", v -> v.add(value), value);
    }

    /**
     * Subtracts {@code value} from every element ({@code w -= value}). @return this parameter
     *
     * @param value the number
     * @return this parameter, for chaining
     */
    public MutableParameter subi(double value) {
        return scalar("sub", v -> v.sub(value), value);
    }

    /**
     * Multiplies every element by {@code value} ({@code w *= value}). @return this parameter
     *
     * @param value the number
     * @return this parameter, for chaining
     */
    public MutableParameter muli(double value) {
        return scalar("mul", v -> v.mul(value), value);
    }

    /**
     * Divides every element by {@code value} ({@code w /= value}). @return this parameter
     *
     * @param value the number
     * @return this parameter, for chaining
     */
    public MutableParameter divi(double value) {
        return scalar("div", v -> v.div(value), value);
    }

    /**
     * Adds {@code operand} ({@code w += operand}), broadcasting as ND4J does; the result keeps the parameter's shape.
     *
     * @param operand an expression of the same graph and data type, not computed from this parameter
     * @return this parameter
     * @throws IllegalArgumentException if the operand belongs to another graph, has another data type, does not
     *                                  broadcast to the parameter's shape, or is computed from this parameter
     */
    public MutableParameter addi(SDVariable operand) {
        return binary("add", operand, SDVariable::add);
    }

    /**
     * Subtracts {@code operand}; see {@link #addi(SDVariable)} for the rules and exceptions. @return this parameter
     *
     * @param operand the operand, broadcast to the parameter's shape
     * @return this parameter, for chaining
     */
    public MutableParameter subi(SDVariable operand) {
        return binary("sub", operand, SDVariable::sub);
    }

    /**
     * Multiplies by {@code operand}; see {@link #addi(SDVariable)} for the rules and exceptions. @return this parameter
     *
     * @param operand the operand, broadcast to the parameter's shape
     * @return this parameter, for chaining
     */
    public MutableParameter muli(SDVariable operand) {
        return binary("mul", operand, SDVariable::mul);
    }

    /**
     * Divides by {@code operand}; see {@link #addi(SDVariable)} for the rules and exceptions. @return this parameter
     *
     * @param operand the operand, broadcast to the parameter's shape
     * @return this parameter, for chaining
     */
    public MutableParameter divi(SDVariable operand) {
        return binary("div", operand, SDVariable::div);
    }

    /**
     * Replaces the value with {@code function(currentValue)}, for any differentiable function built from SameDiff ops
     * ({@code w.apply(v -> sd.math().tanh(v))}). The history names the function by the op that produced its result.
     *
     * @param function receives the current value, returns the new one (same graph, data type and shape)
     * @return this parameter
     * @throws IllegalArgumentException if the result is null, belongs to another graph, has another data type or
     *                                  shape, or reads this parameter's {@link #value()}; whatever the function added
     *                                  to the graph is removed again
     */
    public MutableParameter apply(UnaryOperator<SDVariable> function) {
        return apply(null, function);
    }

    /**
     * Like {@link #apply(UnaryOperator)}, with the label that names the function in {@link #history()}.
     *
     * @param label    the name shown in the history, or null to name the function by its last op
     * @param function receives the current value, returns the new one
     * @return this parameter
     * @throws IllegalArgumentException as {@link #apply(UnaryOperator)}
     */
    public MutableParameter apply(String label, UnaryOperator<SDVariable> function) {
        Objects.requireNonNull(function, "function");
        return graph.writeLocked(() -> applyLocked(label, function));
    }

    private MutableParameter applyLocked(String label, UnaryOperator<SDVariable> function) {
        requireLive();
        Set<String> readersBefore = readersBefore();
        SDVariable current = source();
        GraphEdits.Snapshot before = GraphEdits.snapshot(sd());
        try {
            SDVariable result;
            record.applying = record.dormant();
            try {
                result = inMutationScope(() -> function.apply(current));
            } finally {
                record.applying = false;
            }
            if (result == null) {
                throw new IllegalArgumentException(Messages.format(Messages.NULL_RESULT, record.name));
            }
            if (result == current) {
                return this;
            }
            if (readersBefore == null) {
                checkOperand(result, "apply", true);
            } else {
                // Dormant: the function read the parameter itself, which is its current value; only an expression
                // built before this call from the parameter would, once that one reads the slot, make a cycle.
                checkOperand(result, "apply", false);
                Set<String> earlierReaders = new HashSet<>(GraphSurgery.consumers(sd(), record.name));
                earlierReaders.retainAll(readersBefore);
                if (!Collections.disjoint(GraphWalk.opsUpstreamOf(sd(), result.name()), earlierReaders)) {
                    throw new IllegalArgumentException(Messages.format(Messages.CYCLE,
                            result.name(), record.name, record.name, record.name));
                }
            }
            long[] shape = shapeOf(result);
            if (shape != null && !Arrays.equals(shape, record.shape)) {
                throw new IllegalArgumentException(Messages.format(Messages.WRONG_SHAPE,
                        "the result of apply(...), \"" + result.name() + "\",", shape, record.name, record.shape));
            }
            String name = label != null ? label : functionName(result);
            replaceSource(result, record.history.then(name, null), false, readersBefore);
            return this;
        } catch (RuntimeException e) {
            before.rollback();
            throw e;
        }
    }

    /**
     * Undoes every mutation: the parameter is fed by its initial value again, which becomes trainable again if it had
     * been frozen by a mutation (not if {@link #freezeInitial()} froze it). The initial value holds whatever training
     * gave it.
     *
     * @return this parameter
     */
    public MutableParameter reset() {
        return graph.writeLocked(this::resetLocked);
    }

    private MutableParameter resetLocked() {
        requireLive();
        if (record.dormant()) {
            return this;        // nothing was changed: the parameter is its initial value
        }
        if (!record.initialPinned) {
            GraphSurgery.unfreeze(sd(), record.initialName);
        }
        replaceSource(sd().getVariable(record.initialName), History.of(record.name + ":init"), false, null);
        return this;
    }

    /**
     * Makes the initial value a constant for good: {@code sd.fit} no longer trains it and no gradient is computed
     * for it, while the parameter itself stays mutable (like the parameters of DL4J's {@code FrozenLayer}, or a
     * batch-normalisation layer's running statistics). {@link #reset()} keeps it frozen.
     *
     * @return this parameter
     */
    public MutableParameter freezeInitial() {
        return graph.writeLocked(this::freezeInitialLocked);
    }

    private MutableParameter freezeInitialLocked() {
        requireLive();
        record.initialPinned = true;
        // Dormant, the parameter's own variable is its initial value: frozen in place, it keeps costing nothing.
        SDVariable initial = sd().getVariable(record.dormant() ? record.name : record.initialName);
        if (initial.getVariableType() == VariableType.VARIABLE) {
            sd().convertToConstant(initial);
            GraphSurgery.invalidateDerivedState(sd());
        }
        return this;
    }

    @Override
    public String toString() {
        return "MutableParameter{" + record.name + " " + describe(record.dataType, record.shape) + " = "
                + history() + "}";
    }

    // ---------------------------------------------------------------------------------------------------------

    private SameDiff sd() {
        return graph.sameDiff();
    }

    /** The variable that currently feeds the slot. */
    SDVariable source() {
        if (record.dormant()) {
            return sd().getVariable(record.name);
        }
        String input = sd().getOps().get(record.slotOp).getInputsToOp().get(0);
        return sd().getVariable(input);
    }

    private MutableParameter scalar(String op, UnaryOperator<SDVariable> build, double value) {
        return graph.writeLocked(() -> scalarLocked(op, build, value));
    }

    private MutableParameter scalarLocked(String op, UnaryOperator<SDVariable> build, double value) {
        requireLive();
        requireFinite(op, value);
        Set<String> readersBefore = readersBefore();
        SDVariable current = source();
        SDVariable result = inMutationScope(() -> build.apply(current));
        replaceSource(result, record.history.then(op, String.valueOf(value)), true, readersBefore);
        return this;
    }

    /** Builds a mutation's ops in a name scope of their own ({@link ParameterSlots#inScope} says why). */
    private SDVariable inMutationScope(Supplier<SDVariable> body) {
        return ParameterSlots.inScope(sd(), record.name + "/" + (++record.mutations), body);
    }

    private MutableParameter binary(String op, SDVariable operand,
                                    BinaryOperator<SDVariable> combine) {
        return graph.writeLocked(() -> binaryLocked(op, operand, combine));
    }

    private MutableParameter binaryLocked(String op, SDVariable operand,
                                          BinaryOperator<SDVariable> combine) {
        checkOperand(operand, op, true);
        Set<String> readersBefore = readersBefore();
        long[] shape = shapeOf(operand);
        if (shape != null) {
            long[] result = ShapeInference.broadcast(record.shape, shape);
            if (result == null || !Arrays.equals(result, record.shape)) {
                throw new IllegalArgumentException(Messages.format(Messages.NOT_BROADCASTABLE,
                        op, record.name, record.shape, shape, record.shape));
            }
        }
        SDVariable current = source();
        SDVariable result = inMutationScope(() -> combine.apply(current, operand));
        graph.state().knownShapes.put(result.name(), record.shape.clone());
        replaceSource(result, record.history.then(op, label(operand)), true, readersBefore);
        return this;
    }

    private void checkOperand(SDVariable operand, String what, boolean cycleCheck) {
        Objects.requireNonNull(operand, what + " operand");
        requireLive();
        if (operand.getSameDiff() != sd()) {
            throw new IllegalArgumentException(Messages.format(Messages.OTHER_SAMEDIFF, operand.name(), record.name));
        }
        if (sd().getVariables().get(operand.name()) == null || sd().getVariable(operand.name()) != operand) {
            throw new IllegalArgumentException(Messages.format(Messages.STALE_OPERAND, operand.name(), record.name));
        }
        if (operand.dataType() != record.dataType) {
            throw new IllegalArgumentException(Messages.format(Messages.WRONG_DATA_TYPE,
                    "\"" + operand.name() + "\"", operand.dataType(), record.name, record.dataType, record.dataType));
        }
        if (cycleCheck && GraphWalk.dependsOn(sd(), operand.name(), record.name)) {
            throw new IllegalArgumentException(Messages.format(Messages.CYCLE,
                    operand.name(), record.name, record.name, record.name));
        }
    }

    /**
     * The graph still has this parameter as this handle knows it: a variable of its name, fed by its slot op, and its
     * initial value. SameDiff's own calls (renameVariable, removing variables) can change that behind this handle's
     * back; failing here names the parameter, where the next graph edit would fail on a missing op with no name.
     */
    private void requireLive() {
        SameDiff sd = sd();
        String problem = null;
        if (graph.state().parameters.get(record.name) != record) {
            problem = "the graph no longer lists it as a mutable parameter";
        } else if (record.dormant()) {
            Variable v = sd.getVariables().get(record.name);
            if (v == null || v.getOutputOfOp() != null) {
                problem = "no variable \"" + record.name + "\" holds its value any more";
            }
        } else if (sd.getOps().get(record.slotOp) == null) {
            problem = "the op \"" + record.slotOp + "\" that feeds it is gone";
        } else if (sd.getVariables().get(record.name) == null
                || !record.slotOp.equals(sd.getVariables().get(record.name).getOutputOfOp())) {
            problem = "no variable \"" + record.name + "\" is computed by its op \"" + record.slotOp + "\" any more";
        } else if (sd.getVariables().get(record.initialName) == null) {
            problem = "its initial value \"" + record.initialName + "\" is gone";
        } else if (sd.getOps().get(record.slotOp).getInputsToOp() == null
                || sd.getVariables().get(sd.getOps().get(record.slotOp).getInputsToOp().get(0)) == null) {
            problem = "the variable that feeds it is gone";
        }
        if (problem != null) {
            throw new IllegalStateException(Messages.format(Messages.STALE_PARAMETER, record.name, problem));
        }
    }

    private void requireFinite(String op, double value) {
        if (graph.checksFinite() && !Double.isFinite(value)) {
            throw new IllegalArgumentException(Messages.format(Messages.NON_FINITE_VALUE, op, record.name, value));
        }
    }

    private long[] shapeOf(SDVariable v) {
        long[] known = graph.state().knownShapes.get(v.name());
        return known != null ? known.clone() : ShapeInference.infer(sd(), v);
    }

    /** The ops that exist before a mutation of a dormant parameter (they will read its slot), or null. */
    private Set<String> readersBefore() {
        return record.dormant() ? new HashSet<>(sd().getOps().keySet()) : null;
    }

    /**
     * Makes the slot read {@code newSource}, giving a dormant parameter its slot first; everything has been validated
     * by now.
     *
     * @param extendsCurrent true when {@code newSource} is computed from the current value, so whether the initial
     *                       value is still used cannot have changed (saves a walk over the whole mutation chain)
     * @param readersBefore  for a dormant parameter, the ops that existed before this mutation: those that read the
     *                       parameter are moved onto the slot, the mutation's own ops keep reading the initial value
     */
    private void replaceSource(SDVariable newSource, History newHistory, boolean extendsCurrent,
                               Set<String> readersBefore) {
        SameDiff sd = sd();
        if (record.dormant()) {
            ParameterSlots.materialize(sd(), graph.state(), record, readersBefore);
        }
        String old = source().name();
        if (!old.equals(newSource.name())) {
            GraphSurgery.replaceInput(sd, record.slotOp, old, newSource.name());
            if (!extendsCurrent && !GraphWalk.dependsOn(sd, newSource.name(), record.initialName)) {
                GraphSurgery.freezeIfUnused(sd, record.initialName);
            }
            if (!extendsCurrent) {
                // The replaced value's chain (ops and constants made by earlier mutations, which nothing reads now)
                // would otherwise stay in the graph: a loop of set-then-output would grow it without bound.
                String scope = record.name + "/";
                for (String removed : GraphSurgery.removeUnread(sd, old, name -> name.startsWith(scope)
                        && !name.equals(record.initialName) && !name.startsWith(scope + "slot"))) {
                    graph.state().knownShapes.remove(removed);
                }
            }
        }
        record.history = newHistory;
        GraphSurgery.invalidateDerivedState(sd);
    }

    private String label(SDVariable v) {
        return v.name().equals(record.initialName) ? record.name + ":init" : v.name();
    }

    private String uniqueName(String base) {
        return ParameterSlots.uniqueName(sd(), base);
    }

    private String functionName(SDVariable result) {
        DifferentialFunction producer = sd().getVariableOutputOp(result.name());
        return producer == null ? "apply" : producer.opName();
    }

    private static String describe(DataType type, long[] shape) {
        return type.toString().toLowerCase(Locale.ROOT) + Arrays.toString(shape);
    }
}
