package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SaveLoadTest {

    /** The perceptron with W2 predicted by a small hypernetwork, W1 scaled, b1 filled, b2 untouched. */
    private static SameDiff mutatedGraph() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Nd4j.getRandom().setSeed(5);
        SDVariable z = sd.var("z", Nd4j.randn(DataType.DOUBLE, 1, 3));
        SDVariable h = sd.var("H", Nd4j.randn(DataType.DOUBLE, 3, 8));
        g.setFromFlat(sd.math().tanh(z.mmul(h)), "W2");
        g.param("W1").muli(0.5).addi(0.1);
        g.param("b1").fill(0.2);
        return sd;
    }

    @Test
    void savedAndLoadedGraphHasTheSameOutputsGradientsAndParameters(@TempDir Path dir) throws Exception {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff sd = mutatedGraph();
        File file = dir.resolve("mutated.sd").toFile();
        sd.save(file, false);

        SameDiff loaded = SameDiff.load(file, false);

        assertEquals(sd.output(in, "out").get("out"), loaded.output(in, "out").get("out"));
        String[] trainable = {"z", "H", "W1/init", "b2"};      // b2 never changed: still its plain variable
        Map<String, INDArray> before = Fixtures.gradients(sd, in, trainable);
        Map<String, INDArray> after = Fixtures.gradients(loaded, in, trainable);
        for (String v : trainable) {
            assertEquals(before.get(v), after.get(v), v);
        }

        // Naming the parameters converted before saving converts nothing new: they are recognised.
        int variables = loaded.getVariables().size();
        MutableGraph g = MutableGraph.of(loaded, "W1", "W2", "b1", "b2");
        assertEquals(variables, loaded.getVariables().size());
        assertEquals(List.of("W1", "W2", "b1", "b2"), g.parameterNames().stream().sorted().toList());
        assertEquals("b2:init", g.param("b2").history());
        assertTrue(g.param("W1").usesInitialValue());
        // The loaded graph stays mutable: a further change takes effect.
        g.param("b2").fill(100.0);
        INDArray out = loaded.output(in, "out").get("out");
        assertTrue(out.minNumber().doubleValue() > 50, "b2 = 100 must dominate the output: " + out);
    }
}
