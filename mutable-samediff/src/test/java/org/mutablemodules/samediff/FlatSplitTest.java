package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class FlatSplitTest {

    static Stream<Arguments> cuts() {
        return Stream.of(
                // the two cuts whose strided_slice gradient is wrong in ND4J 1.0.0-M2.1
                Arguments.of(new long[] {1, 8}, new long[][] {{1, 6}, {1, 2}}),
                Arguments.of(new long[] {1, 2}, new long[][] {{1, 1}, {1, 1}}),
                Arguments.of(new long[] {8}, new long[][] {{6}, {2}}),
                Arguments.of(new long[] {1, 24}, new long[][] {{2, 3, 4}}),
                Arguments.of(new long[] {1, 17}, new long[][] {{2, 3}, {4}, {1, 1}, {3, 2}}),
                Arguments.of(new long[] {13}, new long[][] {{3, 4}, {1}}));
    }

    /** A loss that weighs every element of every piece differently, so a misplaced gradient cannot cancel out. */
    private static SameDiff splitGraph(long[] flatShape, long[][] pieces, List<SDVariable> out) {
        Nd4j.getRandom().setSeed(11);
        SameDiff sd = SameDiff.create();
        SDVariable flat = sd.var("flat", Nd4j.randn(DataType.DOUBLE, flatShape));
        out.addAll(FlatSplit.split(flat, pieces));
        SDVariable loss = null;
        for (int i = 0; i < pieces.length; i++) {
            SDVariable weights = sd.constant(Nd4j.randn(DataType.DOUBLE, pieces[i]));
            SDVariable term = sd.sum(sd.math().sin(out.get(i).mul(weights)));
            loss = loss == null ? term : loss.add(term);
        }
        sd.setLossVariables(loss.name());
        return sd;
    }

    @ParameterizedTest
    @MethodSource("cuts")
    void piecesHoldConsecutiveElementsInRowMajorOrder(long[] flatShape, long[][] pieces) {
        List<SDVariable> out = new ArrayList<>();
        SameDiff sd = splitGraph(flatShape, pieces, out);
        INDArray flat = sd.getVariable("flat").getArr().reshape(-1);
        long offset = 0;
        for (int i = 0; i < pieces.length; i++) {
            INDArray piece = out.get(i).eval();
            assertArrayEquals(pieces[i], piece.shape());
            INDArray expected = flat.get(NDArrayIndex.interval(offset, offset + piece.length())).reshape('c', pieces[i]);
            assertEquals(expected, piece);
            offset += piece.length();
        }
    }

    @ParameterizedTest
    @MethodSource("cuts")
    void gradientMatchesFiniteDifferences(long[] flatShape, long[][] pieces) {
        SameDiff sd = splitGraph(flatShape, pieces, new ArrayList<>());
        Fixtures.assertGradientsMatchFiniteDifferences(sd, Map.of());
    }

    /** The reason FlatSplit exists, and proof that the check used above can fail. */
    @Test
    void nd4jStridedSliceGetsThisCutWrongAndTheCheckNoticesIt() {
        Nd4j.getRandom().setSeed(11);
        SameDiff sd = SameDiff.create();
        SDVariable flat = sd.var("flat", Nd4j.randn(DataType.DOUBLE, 1, 2));
        SDVariable first = flat.get(SDIndex.all(), SDIndex.interval(0, 1));
        SDVariable second = flat.get(SDIndex.all(), SDIndex.interval(1, 2));
        SDVariable loss = sd.sum(first.mul(2.0)).add(sd.sum(second.mul(3.0)));
        sd.setLossVariables(loss.name());
        boolean ok = Fixtures.withDoubleDefaults(() -> Fixtures.quietly(() ->
                GradCheckUtil.checkGradients(sd, Map.of(), 1e-6, 1e-5, 1e-8, false, false)));
        assertFalse(ok, "ND4J's strided_slice gradient is expected to be wrong here; if this passes, it was fixed");
    }

    @Test
    void rejectsAFlatTensorOfTheWrongLength() {
        SameDiff sd = SameDiff.create();
        SDVariable flat = sd.var("flat", Nd4j.zeros(DataType.DOUBLE, 1, 7));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlatSplit.split(flat, new long[] {2, 3}, new long[] {2}));
        assertTrue(e.getMessage().contains("7 elements") && e.getMessage().contains("8 elements"), e.getMessage());
    }

    @Test
    void rejectsATensorThatIsNotFlat() {
        SameDiff sd = SameDiff.create();
        SDVariable flat = sd.var("grid", Nd4j.zeros(DataType.DOUBLE, 2, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlatSplit.split(flat, new long[] {8}));
        assertTrue(e.getMessage().contains("\"grid\"") && e.getMessage().contains("[2, 4]"), e.getMessage());
    }
}
