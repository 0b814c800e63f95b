package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The DL4J adapter prints nothing on standard output: conversion, outputs, scores, gradients, a second-order
 * functional call (an inner step and the loss of the adapted network), training through it and baking back.
 */
class StandardOutputTest {

    /** Runs {@code call} with standard output captured; @return what it printed. */
    private static String printedBy(Runnable call) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            call.run();
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void publicCallsPrintNothing() {
        MultiLayerNetwork net = Networks.network(DataType.FLOAT, InputType.feedForward(3),
                new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(2).build());
        INDArray x = Networks.randn(DataType.FLOAT, 1, 4, 3);
        INDArray y = Networks.oneHot(DataType.FLOAT, 2, 4, 2);
        MutableNetwork[] m = new MutableNetwork[1];
        assertEquals("", printedBy(() -> m[0] = MutableNetwork.of(net)));
        assertEquals("", printedBy(() -> m[0].output(x)));
        assertEquals("", printedBy(() -> m[0].score(x, y)));
        assertEquals("", printedBy(() -> m[0].gradients(x, y)));
        assertEquals("", printedBy(() -> {
            SameDiff sd = m[0].graph().sameDiff();
            SDVariable in = sd.placeHolder("support", DataType.FLOAT, -1, 3);
            SDVariable labels = sd.placeHolder("supportLabels", DataType.FLOAT, -1, 2);
            Map<String, SDVariable> gradients = m[0].lossGradients(in, labels, Map.of());
            Map<String, SDVariable> adapted = new LinkedHashMap<>();
            gradients.forEach((key, g) -> adapted.put(key, m[0].param(key).value().sub(g.mul(0.1))));
            SDVariable metaLoss = m[0].loss(in, labels, adapted);
            GraphTrainer trainer = GraphTrainer.builder(m[0].graph()).loss(metaLoss.name())
                    .updater(new Adam(0.01)).build();
            trainer.fit(() -> Map.of(m[0].inputName(), x, m[0].labelName(), y, "support", x, "supportLabels", y),
                    3);
        }));
        assertEquals("", printedBy(() -> m[0].toMultiLayerNetwork(Map.of("support", x, "supportLabels", y))
                .output(x)));
    }
}
