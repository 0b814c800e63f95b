package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

class ConversionTest {

    private static final List<String> PARAMS = List.of("W1", "W2", "b1", "b2");

    @Test
    void aParameterCostsNothingUntilUsedThenBecomesAnArrayFedByItsTrainableInitialValue() {
        SameDiff sd = Fixtures.mlp();
        Map<String, String> plain = Fixtures.structure(Fixtures.mlp());
        MutableGraph g = MutableGraph.of(sd);

        assertSame(sd, g.sameDiff());
        assertEquals(PARAMS, g.parameterNames().stream().sorted().toList());
        assertEquals(plain, Fixtures.structure(sd), "no op is added before a parameter is used");
        for (String name : PARAMS) {
            assertEquals(VariableType.VARIABLE, sd.getVariable(name).getVariableType(), name);
            assertEquals(name + ":init", g.param(name).history());
            assertTrue(g.param(name).usesInitialValue());
            SDVariable value = g.param(name).value();      // read as an expression: now it gets its slot
            assertEquals(VariableType.ARRAY, value.getVariableType(), name);
            assertEquals(name, value.name());
            assertEquals(VariableType.VARIABLE, sd.getVariable(name + "/init").getVariableType(), name);
            assertEquals(name + ":init", g.param(name).history());
            assertTrue(g.param(name).usesInitialValue());
        }
    }

    @Test
    void outputsAndGradientsAreUnchangedByTheConversion() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff plain = Fixtures.mlp();
        INDArray before = plain.output(in, "out").get("out");
        Map<String, INDArray> gradsBefore = Fixtures.gradients(plain, in, PARAMS.toArray(new String[0]));

        SameDiff sd = Fixtures.mlp();
        MutableGraph.of(sd).parameters().forEach(MutableParameter::initial);    // every parameter with its slot
        INDArray after = sd.output(in, "out").get("out");
        Map<String, INDArray> gradsAfter = Fixtures.gradients(sd, in,
                PARAMS.stream().map(p -> p + "/init").toArray(String[]::new));

        assertEquals(before, after);
        for (String p : PARAMS) {
            assertEquals(gradsBefore.get(p), gradsAfter.get(p + "/init"), p);
        }
    }

    @Test
    void gradientsOfALossAreItsWhateverLossTheGraphHoldsNow() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff plain = Fixtures.mlp();
        Map<String, INDArray> expected = Fixtures.gradients(plain, in, "W1", "b2");
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        SDVariable other = sd.math().square(sd.getVariable("out")).sum("other");
        sd.setLossVariables(other.name());                 // as a trainer of another loss leaves it
        Map<String, INDArray> own = g.gradientsOf("loss", in, "W1", "b2");
        for (String v : List.of("W1", "b2")) {
            assertTrue(expected.get(v).equalsWithEps(own.get(v), 1e-12), v);
        }
        assertEquals(List.of("loss"), sd.getLossVariables());
        SameDiff plainOther = Fixtures.mlp();
        plainOther.math().square(plainOther.getVariable("out")).sum("other");
        plainOther.setLossVariables("other");
        Map<String, INDArray> expectedOther = Fixtures.gradients(plainOther, in, "W1");
        Map<String, INDArray> ofOther = g.gradientsOf("other", in, "W1");
        assertTrue(expectedOther.get("W1").equalsWithEps(ofOther.get("W1"), 1e-12));
        assertFalse(expectedOther.get("W1").equalsWithEps(expected.get("W1"), 1e-3), "the two losses differ");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> g.gradientsOf("los", in, "W1"));
        assertTrue(e.getMessage().contains("\"los\""), e.getMessage());
    }

    @Test
    void ofIsIdempotentAndConvertsOnlyWhatIsNew() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph first = MutableGraph.of(sd, "W1");
        assertEquals(List.of("W1"), first.parameterNames());
        assertEquals(VariableType.VARIABLE, sd.getVariable("W2").getVariableType());

        int variables = sd.getVariables().size();
        MutableGraph again = MutableGraph.of(sd, "W1");
        assertSame(first, again);
        assertEquals(variables, sd.getVariables().size());

        MutableGraph all = MutableGraph.of(sd);
        assertSame(first, all);
        assertEquals(PARAMS, all.parameterNames().stream().sorted().toList());
        int converted = sd.getVariables().size();
        MutableGraph.of(sd);
        assertEquals(converted, sd.getVariables().size(), "a second full conversion must add nothing");
        assertFalse(all.isMutable("W1/init"));
    }

    @Test
    void fitKeepsTrainingTheInitialValuesUntilTheyAreReplaced() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff sd = Fixtures.mlp();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-2))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        MultiDataSet batch = new MultiDataSet(in.get("x"), in.get("y"));
        sd.fit(batch);      // trained before the conversion: the updater state must move with the renamed variable

        MutableGraph g = MutableGraph.of(sd);
        INDArray w1 = g.param("W1").initial().getArr().dup();
        INDArray w2 = g.param("W2").initial().getArr().dup();
        g.param("W2").set(sd.constant(w2.mul(2)));
        Fixtures.quietly(() -> sd.fit(batch));

        assertNotEquals(w1, sd.getVariable("W1/init").getArr(), "W1 is still fed by its initial value: trained");
        assertEquals(w2, sd.getVariable("W2/init").getArr(), "W2 was replaced: its initial value is not trained");
        assertEquals(VariableType.CONSTANT, sd.getVariable("W2/init").getVariableType());
        assertFalse(g.param("W2").usesInitialValue());
    }

    @Test
    void resetRestoresTheTrainableInitialValue() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff sd = Fixtures.mlp();
        INDArray before = sd.output(in, "out").get("out");
        MutableParameter w = MutableGraph.of(sd).param("W1");

        w.fill(3.0).reset();

        assertEquals(VariableType.VARIABLE, w.initial().getVariableType());
        assertTrue(w.usesInitialValue());
        assertEquals("W1:init", w.history());
        assertEquals(before, sd.output(in, "out").get("out"));
    }

    @Test
    void aFrozenInitialValueIsNotTrainedAndStaysFrozenAfterReset() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff sd = Fixtures.mlp();
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-2))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        MutableParameter b1 = MutableGraph.of(sd).param("b1");
        INDArray before = b1.initial().getArr().dup();

        b1.freezeInitial().addi(1.0).reset();
        Fixtures.quietly(() -> sd.fit(new MultiDataSet(in.get("x"), in.get("y"))));

        assertEquals(VariableType.CONSTANT, b1.initial().getVariableType());
        assertTrue(b1.usesInitialValue());
        assertEquals(before, b1.initial().getArr());
        assertNotEquals(sd.getVariable("W1").getArr(), Fixtures.mlp().getVariable("W1").getArr(),
                "the other parameters are still trained");
    }

    @Test
    void gradientsAreRecomputedAfterEachMutation() {
        Map<String, INDArray> in = Fixtures.mlpInputs();
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        g.param("b2").initial();
        INDArray first = Fixtures.gradients(sd, in, "b2/init").get("b2/init");

        g.param("b2").muli(3.0);     // d loss / d b2init triples the upstream gradient at the new point
        INDArray second = Fixtures.gradients(sd, in, "b2/init").get("b2/init");

        assertNotEquals(first, second, "a stale gradient function would return the old gradient");
    }
}
