package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Cuts one flat tensor into pieces of given shapes, differentiably: the hypernetwork's "one output vector for many
 * parameters".
 *
 * <p>Each piece is {@code reshape(slice(flat, offset, length), shape)}, in row-major ('c') order (a vector piece is
 * the slice itself). The obvious ND4J ops are not used on purpose: in 1.0.0-M2.1 the gradients of
 * {@code strided_slice} ({@code SDVariable.get} with intervals) are wrong for some cuts, {@code splitV} has no
 * gradient and {@code gather}'s fails; {@code slice} and {@code reshape} pass finite-difference checks for every cut
 * tried (see the tests).
 */
public final class FlatSplit {

    private FlatSplit() {
    }

    /**
     * Splits {@code flat} into consecutive pieces of the given shapes.
     *
     * @param flat   a tensor of shape {@code [n]} or {@code [1, n]}, where {@code n} is the total number of elements
     *               of {@code shapes} (checked now when the shape of {@code flat} can be found)
     * @param shapes the shape of each piece, in order
     * @return one variable per shape, of that shape
     * @throws IllegalArgumentException if no shape is given, or {@code flat} is not flat or has another length
     */
    public static List<SDVariable> split(SDVariable flat, long[]... shapes) {
        Objects.requireNonNull(flat, "flat");
        if (shapes.length == 0) {
            throw new IllegalArgumentException("Give the shape of at least one piece.");
        }
        SameDiff sd = flat.getSameDiff();
        long total = 0;
        for (long[] shape : shapes) {
            total += MutableGraph.length(shape);
        }
        long[] flatShape = ShapeInference.infer(sd, flat);
        if (flatShape != null) {
            boolean isFlat = flatShape.length == 1 || (flatShape.length == 2 && flatShape[0] == 1);
            if (!isFlat) {
                throw new IllegalArgumentException(Messages.format(Messages.FLAT_RANK, flat.name(), flatShape));
            }
            long n = MutableGraph.length(flatShape);
            if (n != total) {
                String pieces = Arrays.stream(shapes).map(Arrays::toString).collect(Collectors.joining(", "));
                throw new IllegalArgumentException(Messages.format(Messages.FLAT_LENGTH, n, pieces, total));
            }
        }
        GraphState state = GraphState.of(sd);
        SDVariable vector = flatShape != null && flatShape.length == 1 ? flat : sd.reshape(flat, total);
        List<SDVariable> pieces = new ArrayList<>(shapes.length);
        long offset = 0;
        for (int i = 0; i < shapes.length; i++) {
            long[] shape = shapes[i];
            long length = MutableGraph.length(shape);
            int begin = Math.toIntExact(offset);
            SDVariable shaped = ParameterSlots.inScope(sd, flat.name() + "/piece" + i, () -> {
                SDVariable piece = sd.slice(vector, new int[] {begin}, Math.toIntExact(length));
                // A vector piece is the slice itself: a reshape would add three ops to every training step (the
                // reshape, and a shape_of and a reshape in the gradient), and SameDiff's cost per op is what
                // dominates small hypernetworks.
                return shape.length == 1 ? piece : sd.reshape(piece, shape.clone());
            });
            state.knownShapes.put(shaped.name(), shape.clone());
            pieces.add(shaped);
            offset += length;
        }
        return pieces;
    }
}
