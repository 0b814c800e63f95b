package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A softmax scored by cross-entropy on huge logits (probabilities of exactly 0 and 1): the score is DL4J's, from
 * probabilities clipped to [1e-10, 1 - 1e-10], and the gradient stays finite. Fuzz seed 2087 (logits of 1e36 after
 * a cube activation) scored 0 while the fused loss's value was replaced by cancellation.
 */
class SaturatedSoftmaxTest {

    private static final DataType D = DataType.DOUBLE;

    @ParameterizedTest
    @ValueSource(strings = {"OutputLayer MCXENT", "OutputLayer NEGATIVELOGLIKELIHOOD", "RnnOutputLayer MCXENT"})
    void scoreIsDl4jsClippedScore(String kind) {
        boolean series = kind.startsWith("Rnn");
        LossFunction loss = kind.endsWith("MCXENT") ? LossFunction.MCXENT : LossFunction.NEGATIVELOGLIKELIHOOD;
        Layer output = series
                ? new RnnOutputLayer.Builder(loss).activation(Activation.SOFTMAX).nOut(3).build()
                : new OutputLayer.Builder(loss).activation(Activation.SOFTMAX).nOut(3).build();
        MultiLayerNetwork net = series
                ? Networks.network(D, InputType.recurrent(2), new SimpleRnn.Builder().nOut(4)
                        .activation(Activation.IDENTITY).build(), output)
                : Networks.network(D, InputType.feedForward(2), new DenseLayer.Builder().nOut(4)
                        .activation(Activation.IDENTITY).build(), output);
        String key = "1_W";
        // logits of order 1e30 (1e3 for series: DL4J's own RnnOutputLayer score is NaN at 1e20)
        net.setParam(key, net.getParam(key).mul(series ? 1e3 : 1e30));
        INDArray x = series ? Networks.randn(D, 1, 5, 2, 4) : Networks.randn(D, 1, 5, 2);
        INDArray y = series ? Networks.oneHotSeries(D, 2, 5, 3, 4) : Networks.oneHot(D, 2, 5, 3);
        MutableNetwork m = series ? MutableNetwork.of(net, 4) : MutableNetwork.of(net);

        INDArray probabilities = m.output(x);
        assertTrue(probabilities.eq(0.0).any(), "the softmax saturates");
        double expected = Networks.dl4jInferenceScore(net, new INDArray[] {x}, new INDArray[] {y});
        assertTrue(expected > 1, "DL4J's clipped score " + expected);
        assertEquals(expected, m.score(x, y), 1e-9 * expected, "score");
        Map<String, INDArray> gradients = m.gradients(x, y);
        for (Map.Entry<String, INDArray> e : gradients.entrySet()) {
            assertTrue(!e.getValue().isNaN().any() && !e.getValue().isInfinite().any(),
                    "finite gradient of " + e.getKey());
        }
    }
}
