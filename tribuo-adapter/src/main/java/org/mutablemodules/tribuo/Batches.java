package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.tribuo.Example;
import org.tribuo.Output;
import org.tribuo.Prediction;

/** Cuts a stream of examples into minibatches for prediction: one graph execution per minibatch, not per example. */
final class Batches {

    private Batches() {
    }

    /**
     * The predictions for {@code examples}, in order, computed {@code batchSize} examples at a time.
     *
     * @param predictBatch the predictions for one minibatch, in its order
     */
    static <T extends Output<T>> List<Prediction<T>> predict(
            Iterable<Example<T>> examples, int batchSize,
            Function<List<Example<T>>, List<Prediction<T>>> predictBatch) {
        List<Prediction<T>> predictions = new ArrayList<>();
        List<Example<T>> batch = new ArrayList<>(batchSize);
        for (Example<T> e : examples) {
            batch.add(e);
            if (batch.size() == batchSize) {
                predictions.addAll(predictBatch.apply(batch));
                batch = new ArrayList<>(batchSize);
            }
        }
        if (!batch.isEmpty()) {
            predictions.addAll(predictBatch.apply(batch));
        }
        return predictions;
    }
}
