package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * ND4J's finite-difference check (GradCheckUtil, DOUBLE) of the hypernetwork graph's loss with per-example generated
 * weights ({@code [N, nIn, nOut]} tensors and a rank-3 {@code mmul}), over a minibatch that mixes contexts: every
 * hypernetwork variable and every shared target parameter.
 */
class PerExampleGradientTest {

    @ParameterizedTest(name = "{0} generated, residual={1}, {2}")
    @CsvSource({
        "0_W;0_b;1_W;1_b, false, MCXENT",
        "1_W;1_b, true, MCXENT",
        "0_W;1_b, true, MSE",
        "1_W, false, L1",
    })
    void gradientsMatchFiniteDifferences(String keys, boolean residual, String lossName) {
        NetworkSpec.Loss loss = NetworkSpec.Loss.valueOf(lossName);
        boolean classification = loss == NetworkSpec.Loss.MCXENT;
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.valueOf(lossName)).nIn(4)
                        .nOut(2).activation(classification ? Activation.SOFTMAX : Activation.IDENTITY).build())
                .build();
        NetworkSpec spec = NetworkSpec.of(conf);
        MultiLayerNetwork target = (MultiLayerNetwork) spec.newNetwork(7L);
        HyperGraph.Spec hyper = new HyperGraph.Spec(spec, 2, List.of(keys.split(";")), residual, new int[] {3},
                Activation.TANH);
        HyperGraph g = HyperGraph.build(hyper, target, null, new SplittableRandom(3));

        int n = 5;
        Nd4j.getRandom().setSeed(11);
        INDArray labels = Nd4j.zeros(DataType.DOUBLE, n, 2);
        for (int i = 0; i < n; i++) {
            labels.putScalar(i, classification ? i % 2 : 0, 1.0);
            labels.putScalar(i, 1, classification ? 1.0 - (i % 2) : Math.sin(i));
        }
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(g.mutable.inputName(), Nd4j.randn(DataType.DOUBLE, n, 3));
        feed.put(HyperGraph.CONTEXT, Nd4j.randn(DataType.DOUBLE, n, 2));       // five different contexts
        feed.put(g.mutable.labelName(), labels);
        feed.put(HyperGraph.WEIGHTS, Nd4j.rand(DataType.DOUBLE, n, 1).addi(0.5).divi(n));
        feed.put(HyperGraph.CONTEXT1, Nd4j.randn(DataType.DOUBLE, 1, 2));
        // GradCheckUtil wants a gradient for every placeholder, and ND4J creates none for placeholders read through a
        // reshape or a rank-3 mmul, nor for the unused specialisation context: fix them as constants of the same
        // values, so the check covers every trainable variable.
        feed.forEach((name, value) -> {
            SDVariable placeholder = g.sd.getVariable(name);
            placeholder.setArray(value);
            g.sd.convertToConstant(placeholder);
        });

        long trainable = g.sd.variables().stream().filter(v -> v.getVariableType() == VariableType.VARIABLE).count();
        assertTrue(trainable >= 4, "variables to check: " + trainable);
        DataType before = Nd4j.dataType();
        DataType beforeFloat = Nd4j.defaultFloatingPointType();
        PrintStream out = System.out;
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            boolean ok = GradCheckUtil.checkGradients(g.sd, Map.of(), 1e-6, 1e-5, 1e-8, false, false, false, false,
                    null, null);
            assertTrue(ok, "finite-difference check failed for " + keys);
        } finally {
            System.setOut(out);
            Nd4j.setDefaultDataTypes(before, beforeFloat);
        }
    }
}
