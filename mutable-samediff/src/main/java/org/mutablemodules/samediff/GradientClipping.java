package org.mutablemodules.samediff;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * How a {@link GraphTrainer} limits the gradients of a group of parameters before its updater sees them:
 * {@code torch.nn.utils.clip_grad_norm_} and {@code clip_grad_value_}'s counterparts, and DL4J's
 * {@code GradientNormalization} modes. The L2 norm of a group is taken over all its gradients together (one norm for
 * a layer's weights and biases, say); give each parameter its own group for a norm per parameter.
 *
 * <pre>{@code
 * GraphTrainer.builder(graph).updater(new Adam(1e-3))
 *         .clipping(GradientClipping.clipL2(1.0), "layer0/W", "layer0/b")   // one norm over both
 *         .clipping(GradientClipping.clipValue(0.5), "layer1/W")
 *         .build();
 * }</pre>
 */
public final class GradientClipping {

    private enum Kind { RENORMALIZE_L2, CLIP_L2, CLIP_VALUE }

    /** What a zero norm is replaced by when renormalising, as DL4J does (0/0 would be NaN). */
    private static final double ZERO_NORM = 1e-5;

    private final Kind kind;
    private final double threshold;

    private GradientClipping(Kind kind, double threshold) {
        this.kind = kind;
        this.threshold = threshold;
    }

    /**
     * Divides the group's gradients by their L2 norm (by 1e-5 where the norm is 0), as DL4J's
     * {@code RenormalizeL2PerLayer}.
     *
     * @return the rule
     */
    public static GradientClipping renormalizeL2() {
        return new GradientClipping(Kind.RENORMALIZE_L2, Double.NaN);
    }

    /**
     * Scales the group's gradients down to an L2 norm of {@code threshold} when their norm exceeds it, as
     * {@code clip_grad_norm_} and DL4J's {@code ClipL2PerLayer}.
     *
     * @param threshold the largest norm kept, positive
     * @return the rule
     * @throws IllegalArgumentException if {@code threshold} is not positive and finite
     */
    public static GradientClipping clipL2(double threshold) {
        return new GradientClipping(Kind.CLIP_L2, checked(threshold));
    }

    /**
     * Clips every gradient element to {@code [-threshold, threshold]}, as {@code clip_grad_value_} and DL4J's
     * {@code ClipElementWiseAbsoluteValue}.
     *
     * @param threshold the largest absolute value kept, positive
     * @return the rule
     * @throws IllegalArgumentException if {@code threshold} is not positive and finite
     */
    public static GradientClipping clipValue(double threshold) {
        return new GradientClipping(Kind.CLIP_VALUE, checked(threshold));
    }

    private static double checked(double threshold) {
        if (!(threshold > 0) || Double.isInfinite(threshold)) {
            throw new IllegalArgumentException(Messages.format(Messages.BAD_CLIPPING_THRESHOLD, threshold));
        }
        return threshold;
    }

    /** Applies this rule to one group's gradients, in place. */
    void apply(List<INDArray> gradients) {
        if (kind == Kind.CLIP_VALUE) {
            for (INDArray g : gradients) {
                Transforms.min(Transforms.max(g, -threshold, false), threshold, false);
            }
            return;
        }
        double sumOfSquares = 0;
        for (INDArray g : gradients) {
            double n = g.norm2Number().doubleValue();
            sumOfSquares += n * n;
        }
        double norm = Math.sqrt(sumOfSquares);
        if (kind == Kind.RENORMALIZE_L2) {
            double divisor = norm == 0 ? ZERO_NORM : norm;
            gradients.forEach(g -> g.divi(divisor));
        } else if (norm > threshold) {
            double factor = threshold / norm;
            gradients.forEach(g -> g.muli(factor));
        }
    }

    @Override
    public String toString() {
        return switch (kind) {
            case RENORMALIZE_L2 -> "renormalizeL2()";
            case CLIP_L2 -> "clipL2(" + threshold + ")";
            case CLIP_VALUE -> "clipValue(" + threshold + ")";
        };
    }
}
