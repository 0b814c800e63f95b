package org.mutablemodules.dl4j;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs each test with DOUBLE as ND4J's default types, and restores the previous ones after it: DL4J 1.0.0-M2.1's
 * masked {@code LastTimeStep} collects the last steps into an array of the default type
 * ({@code TimeSeriesUtils.pullLastTimeSteps}), FLOAT otherwise, which rounds a DOUBLE network's activations to float
 * precision.
 */
final class DoubleDefaults implements BeforeEachCallback, AfterEachCallback {

    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(DoubleDefaults.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(STORE).put("types", new DataType[] {Nd4j.dataType(), Nd4j.defaultFloatingPointType()});
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        DataType[] types = context.getStore(STORE).remove("types", DataType[].class);
        Nd4j.setDefaultDataTypes(types[0], types[1]);
    }
}
