package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The examples of torch-mutable-modules' README and example.py, on a 1x1 dense layer (W = 0.5, b = 0.25). */
class SeedExamplesTest {

    private static final INDArray X = Nd4j.createFromArray(new float[][] {{1f}, {2f}, {-3f}});

    private static double[] output(SameDiff sd) {
        return sd.output(Map.of("x", X), "out").get("out").toDoubleVector();
    }

    @Test
    void weightTimesZeroPlus69ReadsSixtyNineAndScalesTheInput() {
        SameDiff sd = Fixtures.linear1x1(DataType.FLOAT);
        MutableGraph g = MutableGraph.of(sd);
        MutableParameter w = g.param("W");

        w.muli(0).addi(69);

        assertEquals(69.0, w.value().eval().getDouble(0), 0.0);
        assertArrayEquals(new double[] {69 + 0.25, 138 + 0.25, -207 + 0.25}, output(sd), 1e-4);
        assertEquals("add(mul(W:init, 0.0), 69.0)", w.history());
    }

    @Test
    void fillThenReplacedBiasGives420point69ForInputOne() {
        SameDiff sd = Fixtures.linear1x1(DataType.FLOAT);
        MutableGraph g = MutableGraph.of(sd);

        g.param("W").fill(420);
        assertArrayEquals(new double[] {420.25, 840.25, -1259.75}, output(sd), 1e-3);

        g.param("b").set(sd.constant(Nd4j.ones(DataType.FLOAT, 1)).mul(0.69));
        double out = sd.output(Map.of("x", Nd4j.ones(DataType.FLOAT, 1, 1)), "out").get("out").getDouble(0);
        assertEquals(420.69, out, 1e-4);
        assertEquals("fill(420.0)", g.param("W").history());
    }

    @Test
    void aLongChainOfMutationsEvaluatesAndRendersItsHistory() {
        SameDiff sd = Fixtures.linear1x1(DataType.DOUBLE);
        MutableParameter w = MutableGraph.of(sd).param("W");
        for (int i = 0; i < 3000; i++) {
            w.addi(1.0);
        }
        assertEquals(3000.5, w.value().eval().getDouble(0), 1e-9);
        String history = w.history();
        assertEquals("add(".repeat(3000) + "W:init" + ", 1.0)".repeat(3000), history);
    }

    @Test
    void mutationsComposeInTheOrderWritten() {
        SameDiff sd = Fixtures.linear1x1(DataType.DOUBLE);
        MutableParameter w = MutableGraph.of(sd).param("W");

        w.addi(1).muli(3).subi(0.5).divi(2);   // ((0.5 + 1) * 3 - 0.5) / 2 = 2.0

        assertEquals(2.0, w.value().eval().getDouble(0), 1e-12);
        assertEquals("div(sub(mul(add(W:init, 1.0), 3.0), 0.5), 2.0)", w.history());
    }
}
