package org.mutablemodules.samediff;

import java.util.List;
import java.util.Map;
import org.mutablemodules.samediff.internal.DryRun;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the shape of an SDVariable before the graph runs.
 *
 * <p>SameDiff infers data types when ops are created but not shapes: {@code getShape()} is null for the output of an
 * op. Shapes this library created itself are remembered by the caller; for the rest, the variable is evaluated once
 * with zero-filled placeholders (unknown dimensions set to 1), by the shape inference every module uses
 * ({@link DryRun}). A shape that cannot be found that way is reported as
 * unknown, and the value is then checked only when the graph runs.
 */
final class ShapeInference {

    private static final Logger LOG = LoggerFactory.getLogger(ShapeInference.class);

    private ShapeInference() {
    }

    /** The shape without running anything, or null: arrays of variables and constants, fully known placeholders. */
    static long[] staticShape(SDVariable v) {
        VariableType type = v.getVariableType();
        if (type == VariableType.VARIABLE || type == VariableType.CONSTANT) {
            INDArray arr = v.getArr();
            return arr == null ? null : arr.shape();
        }
        if (type == VariableType.PLACEHOLDER) {
            long[] shape = v.placeholderShape();
            if (shape == null) {
                return null;
            }
            for (long d : shape) {
                if (d < 0) {
                    return null;
                }
            }
            return shape;
        }
        return null;
    }

    /** The shape of {@code v}, evaluated with dummy placeholders if need be; null if it cannot be found. */
    static long[] infer(SameDiff sd, SDVariable v) {
        long[] known = staticShape(v);
        if (known != null) {
            return known;
        }
        Map<String, INDArray> placeholders = DryRun.placeholders(sd, List.of(v.name()), DryRun.ONES);
        if (placeholders == null) {
            return null;
        }
        try {
            return DryRun.shapes(sd, placeholders, List.of(v.name())).get(v.name());
        } catch (RuntimeException e) {
            LOG.debug("Could not infer the shape of \"{}\" by a dry run: {}", v.name(), e.toString());
            return null;
        }
    }

    /** The numpy-style broadcast of two shapes, or null when they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                return null;
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }
}
