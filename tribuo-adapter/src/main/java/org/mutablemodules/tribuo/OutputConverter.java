package org.mutablemodules.tribuo;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Prediction;

/**
 * Converts between one kind of Tribuo output and the network's output columns, as Tribuo's TensorFlow interop's
 * {@code OutputConverter} does: one implementation per output type.
 *
 * @param <T> the output type
 */
interface OutputConverter<T extends Output<T>> {

    /**
     * The targets of {@code examples} as a {@code [N, outputs]} array in the network's column order.
     *
     * @throws IllegalArgumentException if an example's output is not in {@code info}; the message names it
     */
    INDArray targets(List<? extends Example<T>> examples, ImmutableOutputInfo<T> info, DataType type);

    /**
     * One prediction per row of {@code outputs} ({@code [N, outputs]}, the network's output, in its column order).
     *
     * @param numUsed the number of the example's features the model knows, per example
     */
    List<Prediction<T>> predictions(INDArray outputs, List<? extends Example<T>> examples, int[] numUsed,
                                    ImmutableOutputInfo<T> info);

    /** The name of the output in {@code info} for network column {@code column}. */
    String columnName(int column, ImmutableOutputInfo<T> info);

    /** True when predictions carry probabilities. */
    boolean generatesProbabilities();
}
