package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * MAML meta-training through {@link MutableNetwork#lossGradients} against PyTorch: {@code maml-reference.json},
 * written by {@code bench/maml_reference.py} (torch.autograd.grad with create_graph=True, float64), holds the initial
 * weights, every meta-step's sine tasks, and PyTorch's meta-loss and parameters after every meta-step, for second-
 * and first-order MAML. The Java trajectory, built only from the public API, must match it to 1e-6 relative at every
 * step.
 */
class MamlTrajectoryTest {

    private static final DataType D = DataType.DOUBLE;
    private static final double TOLERANCE = 1e-6;

    @Test
    void secondOrderMamlFollowsPyTorch() throws IOException {
        assertFollowsPyTorch(true, "second_order");
    }

    @Test
    void firstOrderMamlFollowsPyTorch() throws IOException {
        assertFollowsPyTorch(false, "first_order");
    }

    private static void assertFollowsPyTorch(boolean secondOrder, String section) throws IOException {
        JsonNode ref = reference();
        JsonNode steps = ref.get("steps");
        int tasks = steps.get(0).size();
        MutableNetwork m = MutableNetwork.of(network(ref));
        SDVariable metaLoss = metaLoss(m, tasks, ref.get("inner_steps").asInt(), ref.get("inner_rate").asDouble(),
                secondOrder);
        SameDiff sd = m.graph().sameDiff();
        sd.setLossVariables(metaLoss.name());
        List<String> keys = m.parameterKeys();
        Map<String, String> initialNames = new LinkedHashMap<>();
        keys.forEach(k -> initialNames.put(k, m.param(k).initial().name()));
        Adam adam = new Adam(ref.get("meta_rate").asDouble(), ref.get("beta1").asDouble(), ref.get("beta2").asDouble(),
                ref.get("epsilon").asDouble());
        JsonNode expected = ref.get(section);
        double worstLoss = 0;
        double worstParameter = 0;
        for (int s = 0; s < steps.size(); s++) {
            Map<String, INDArray> feed = new HashMap<>();
            for (int t = 0; t < tasks; t++) {
                JsonNode task = steps.get(s).get(t);
                for (String part : List.of("support_x", "support_y", "query_x", "query_y")) {
                    feed.put("task" + t + "/" + part, matrix(task.get(part)));
                }
            }
            OutAndGrad result = sd.calculateGradientsAndOutputs(feed, List.of(metaLoss.name()),
                    List.copyOf(initialNames.values()));
            double loss = result.getOutputs().get(metaLoss.name()).getDouble(0);
            double expectedLoss = expected.get("meta_losses").get(s).asDouble();
            worstLoss = Math.max(worstLoss, Math.abs(loss - expectedLoss) / Math.abs(expectedLoss));
            for (String key : keys) {
                INDArray parameter = m.param(key).initial().getArr();
                adam.step(key, parameter, result.getGradients().get(initialNames.get(key)));
                INDArray torch = Nd4j.createFromArray(flatten(expected.get("parameters").get(s).get(key)))
                        .reshape(parameter.shape());
                worstParameter = Math.max(worstParameter, Checks.maxRelativeDifference(torch, parameter));
            }
        }
        assertEquals(25, steps.size(), "meta-steps in the reference");
        assertTrue(worstLoss <= TOLERANCE, section + ": meta-loss differs from PyTorch's by " + worstLoss);
        assertTrue(worstParameter <= TOLERANCE, section + ": parameters differ from PyTorch's by " + worstParameter);
    }

    /**
     * The mean over {@code tasks} tasks of the query loss after {@code innerSteps} gradient steps on the support set;
     * the inner gradients' own gradients are stopped for first-order MAML.
     */
    static SDVariable metaLoss(MutableNetwork m, int tasks, int innerSteps, double innerRate, boolean secondOrder) {
        SameDiff sd = m.graph().sameDiff();
        long nIn = m.param("0_W").shape()[0];
        List<String> keys = m.parameterKeys();
        long nOut = m.param(keys.get(keys.size() - 2)).shape()[1];
        SDVariable total = null;
        for (int t = 0; t < tasks; t++) {
            SDVariable supportX = sd.placeHolder("task" + t + "/support_x", D, -1, nIn);
            SDVariable supportY = sd.placeHolder("task" + t + "/support_y", D, -1, nOut);
            SDVariable queryX = sd.placeHolder("task" + t + "/query_x", D, -1, nIn);
            SDVariable queryY = sd.placeHolder("task" + t + "/query_y", D, -1, nOut);
            Map<String, SDVariable> adapted = new LinkedHashMap<>();
            for (int s = 0; s < innerSteps; s++) {
                Map<String, SDVariable> gradients = m.lossGradients(supportX, supportY, adapted);
                Map<String, SDVariable> next = new LinkedHashMap<>();
                for (String key : keys) {
                    SDVariable g = gradients.get(key);
                    if (!secondOrder) {
                        g = new StopGradient(sd, g).outputVariable();
                    }
                    SDVariable current = adapted.containsKey(key) ? adapted.get(key) : m.param(key).value();
                    next.put(key, current.sub(g.mul(innerRate)));
                }
                adapted = next;
            }
            SDVariable query = m.loss(queryX, queryY, adapted);
            total = total == null ? query : total.add(query);
        }
        return total.div(tasks);
    }

    /** Adam as bench/maml_reference.py writes it. */
    static final class Adam {
        private final double rate;
        private final double beta1;
        private final double beta2;
        private final double epsilon;
        private final Map<String, INDArray[]> moments = new HashMap<>();
        private final Map<String, Integer> steps = new HashMap<>();

        Adam(double rate, double beta1, double beta2, double epsilon) {
            this.rate = rate;
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.epsilon = epsilon;
        }

        void step(String key, INDArray parameter, INDArray gradient) {
            INDArray[] mv = moments.computeIfAbsent(key, k -> new INDArray[] {parameter.like(), parameter.like()});
            int t = steps.merge(key, 1, Integer::sum);
            mv[0].muli(beta1).addi(gradient.mul(1 - beta1));
            mv[1].muli(beta2).addi(gradient.mul(gradient).muli(1 - beta2));
            INDArray mHat = mv[0].div(1 - Math.pow(beta1, t));
            INDArray vHat = mv[1].div(1 - Math.pow(beta2, t));
            parameter.subi(mHat.divi(Nd4j.math().sqrt(vHat).addi(epsilon)).muli(rate));
        }
    }

    private static MultiLayerNetwork network(JsonNode ref) {
        JsonNode sizes = ref.get("sizes");
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().dataType(D).list();
        int layers = sizes.size() - 1;
        for (int i = 0; i < layers; i++) {
            int nIn = sizes.get(i).asInt();
            int nOut = sizes.get(i + 1).asInt();
            b.layer(i < layers - 1
                    ? new DenseLayer.Builder().nIn(nIn).nOut(nOut).activation(Activation.RELU).build()
                    : new OutputLayer.Builder(LossFunction.MSE).nIn(nIn).nOut(nOut).activation(Activation.IDENTITY)
                            .build());
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        ref.get("initial").fields().forEachRemaining(e -> {
            INDArray target = net.getParam(e.getKey());
            target.assign(Nd4j.createFromArray(flatten(e.getValue())).reshape(target.shape()));
        });
        return net;
    }

    private static JsonNode reference() throws IOException {
        try (InputStream in = MamlTrajectoryTest.class.getResourceAsStream("/maml-reference.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    /** A nested JSON list [rows][columns] as a matrix. */
    private static INDArray matrix(JsonNode rows) {
        return Nd4j.createFromArray(flatten(rows)).reshape(rows.size(), rows.get(0).size());
    }

    private static double[] flatten(JsonNode node) {
        List<Double> values = new ArrayList<>();
        collect(node, values);
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void collect(JsonNode node, List<Double> values) {
        if (node.isArray()) {
            node.forEach(child -> collect(child, values));
        } else {
            values.add(node.asDouble());
        }
    }
}
