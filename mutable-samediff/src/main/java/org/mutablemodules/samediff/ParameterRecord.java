package org.mutablemodules.samediff;

import org.nd4j.linalg.api.buffer.DataType;

/** The bookkeeping of one converted parameter; see {@link MutableParameter} for what the names mean. */
final class ParameterRecord {
    final String name;
    final String initialName;
    final String slotOp;
    final long[] shape;
    final DataType dataType;
    History history;
    /** Mutations made so far: numbers each mutation's name scope, which keeps op naming constant-time. */
    int mutations;
    /** True once {@link MutableParameter#freezeInitial()} was called: the initial value is never trained again. */
    boolean initialPinned;

    ParameterRecord(String name, String initialName, String slotOp, long[] shape, DataType dataType, History history) {
        this.name = name;
        this.initialName = initialName;
        this.slotOp = slotOp;
        this.shape = shape.clone();
        this.dataType = dataType;
        this.history = history;
    }
}
