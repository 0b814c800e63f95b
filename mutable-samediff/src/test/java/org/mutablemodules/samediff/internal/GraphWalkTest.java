package org.mutablemodules.samediff.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The one upstream walk and the one snapshot the modules share, on a small two-branch graph. */
class GraphWalkTest {

    /** out = tanh(x W) + y; side = x * 2 (a branch out does not need). */
    private static SameDiff graph() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable y = sd.placeHolder("y", DataType.DOUBLE, -1, 2);
        SDVariable w = sd.var("W", Nd4j.rand(DataType.DOUBLE, 3, 2));
        sd.math().tanh("h", x.mmul("xw", w)).add("out", y);
        x.mul("side", 2.0);
        return sd;
    }

    @Test
    void upstreamSetsFollowTheOpsInputs() {
        SameDiff sd = graph();
        assertEquals(Set.of("x", "y"), GraphWalk.placeholdersUpstreamOf(sd, List.of("out")));
        assertEquals(Set.of("x"), GraphWalk.placeholdersUpstreamOf(sd, List.of("side")));
        assertEquals(Set.of(sd.getVariables().get("xw").getOutputOfOp(), sd.getVariables().get("h").getOutputOfOp(),
                sd.getVariables().get("out").getOutputOfOp()), GraphWalk.opsUpstreamOf(sd, "out"));
        assertTrue(GraphWalk.dependsOn(sd, "out", "W"));
        assertTrue(GraphWalk.dependsOn(sd, "W", "W"));
        assertFalse(GraphWalk.dependsOn(sd, "side", "W"));
        assertFalse(GraphWalk.dependsOn(sd, "W", "out"));
        // The walk stops as soon as the visitor says so.
        int[] visited = {0};
        assertFalse(GraphWalk.upstream(sd, List.of("out"), false, v -> ++visited[0] < 2));
        assertEquals(2, visited[0]);
    }

    @Test
    void aRollbackRemovesWhatWasAddedAndTheConsumerLinksItLeft() {
        SameDiff sd = graph();
        Map<String, INDArray> feed = Map.of("x", Nd4j.rand(DataType.DOUBLE, 4, 3),
                "y", Nd4j.rand(DataType.DOUBLE, 4, 2));
        INDArray before = sd.output(feed, "out").get("out");
        Set<String> variables = Set.copyOf(sd.getVariables().keySet());
        Set<String> ops = Set.copyOf(sd.getOps().keySet());
        List<String> readersOfW = List.copyOf(sd.getVariables().get("W").getInputsForOp());

        GraphEdits.Snapshot snapshot = GraphEdits.snapshot(sd);
        SDVariable c = sd.constant("c", Nd4j.scalar(3.0));
        sd.getVariable("W").mul("scaled", c).sum("total");
        snapshot.rollback();

        assertEquals(variables, sd.getVariables().keySet());
        assertEquals(ops, sd.getOps().keySet());
        assertEquals(readersOfW, sd.getVariables().get("W").getInputsForOp());
        assertFalse(sd.getConstantArrays().hasArray("c"));
        assertEquals(before, sd.output(feed, "out").get("out"));
    }
}
