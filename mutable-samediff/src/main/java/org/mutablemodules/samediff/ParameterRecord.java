package org.mutablemodules.samediff;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * The bookkeeping of one converted parameter; see {@link MutableParameter} for what the names mean. A parameter is
 * dormant until it is first changed or its value read as an expression: it is then still the plain variable it was,
 * with no initial value and no slot ({@code initialName} and {@code slotOp} null), so that an unused mutable parameter
 * costs nothing when the graph runs.
 */
final class ParameterRecord {
    final String name;
    String initialName;
    String slotOp;
    final long[] shape;
    final DataType dataType;
    History history;
    /** Mutations made so far: numbers each mutation's name scope, which keeps op naming constant-time. */
    int mutations;
    /** True once {@link MutableParameter#freezeInitial()} was called: the initial value is never trained again. */
    boolean initialPinned;
    /** True while {@code apply}'s function runs on a dormant parameter (reading its value then would be a cycle). */
    boolean applying;

    /** True until the parameter gets its slot. */
    boolean dormant() {
        return slotOp == null;
    }

    ParameterRecord(String name, String initialName, String slotOp, long[] shape, DataType dataType, History history) {
        this.name = name;
        this.initialName = initialName;
        this.slotOp = slotOp;
        this.shape = shape.clone();
        this.dataType = dataType;
        this.history = history;
    }
}
