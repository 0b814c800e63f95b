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
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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
 * MAML meta-training through {@link MutableNetwork#lossGradients} against PyTorch. Each reference, written by
 * {@code bench/maml_reference.py} (torch.autograd.grad with create_graph=True, float64), holds the initial weights,
 * every meta-step's tasks, and PyTorch's meta-loss and parameters after every meta-step, for second- and first-order
 * MAML: {@code maml-reference.json} a dense sine regressor ({@code reference}), {@code maml-conv-reference.json} a
 * convolutional few-shot image classifier (two blocks of 3x3 convolution, ReLU and 2x2 max pooling, a softmax head;
 * {@code conv-reference}), {@code maml-lstm-reference.json} an LSTM sequence classifier (its last time step into a
 * softmax head; {@code lstm-reference}). The Java trajectory, built only from the public API, must match it to 1e-8 relative at
 * every step.
 */
class MamlTrajectoryTest {

    private static final DataType D = DataType.DOUBLE;
    private static final double TOLERANCE = 1e-8;

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"maml-reference.json, second_order", "maml-reference.json, first_order",
            "maml-conv-reference.json, second_order", "maml-conv-reference.json, first_order",
            "maml-lstm-reference.json, second_order", "maml-lstm-reference.json, first_order"})
    void mamlFollowsPyTorch(String resource, String section) throws IOException {
        boolean secondOrder = section.equals("second_order");
        JsonNode ref = reference(resource);
        JsonNode steps = ref.get("steps");
        int tasks = steps.get(0).size();
        String architecture = ref.path("architecture").asText("dense");
        MultiLayerNetwork net = switch (architecture) {
            case "conv" -> convolutional(ref);
            case "lstm" -> recurrent(ref);
            default -> network(ref);
        };
        initialise(net, ref);
        MutableNetwork m = MutableNetwork.of(net);
        long[] inputShape = switch (architecture) {
            case "conv" -> new long[] {-1, ref.get("channels").get(0).asLong(), ref.get("image").asLong(),
                    ref.get("image").asLong()};
            // sequences of a known length: lossGradients unrolls the LSTM for it
            case "lstm" -> new long[] {-1, ref.get("features").asLong(), ref.get("time_steps").asLong()};
            default -> new long[] {-1, m.param("0_W").shape()[0]};
        };
        SDVariable metaLoss = metaLoss(m, inputShape, tasks, ref.get("inner_steps").asInt(),
                ref.get("inner_rate").asDouble(), secondOrder);
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
                    feed.put("task" + t + "/" + part, tensor(task.get(part)));
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
        assertTrue(steps.size() >= 10, "meta-steps in the reference: " + steps.size());
        assertEquals(m.parameterKeys(), List.of(mapper().convertValue(ref.get("keys"), String[].class)));
        assertTrue(worstLoss <= TOLERANCE, section + ": meta-loss differs from PyTorch's by " + worstLoss);
        assertTrue(worstParameter <= TOLERANCE, section + ": parameters differ from PyTorch's by " + worstParameter);
    }

    /**
     * The mean over {@code tasks} tasks of the query loss after {@code innerSteps} gradient steps on the support set;
     * the inner gradients' own gradients are stopped for first-order MAML.
     */
    static SDVariable metaLoss(MutableNetwork m, long[] inputShape, int tasks, int innerSteps, double innerRate,
                               boolean secondOrder) {
        SameDiff sd = m.graph().sameDiff();
        List<String> keys = m.parameterKeys();
        long nOut = m.param(keys.get(keys.size() - 2)).shape()[1];
        SDVariable total = null;
        for (int t = 0; t < tasks; t++) {
            SDVariable supportX = sd.placeHolder("task" + t + "/support_x", D, inputShape);
            SDVariable supportY = sd.placeHolder("task" + t + "/support_y", D, -1, nOut);
            SDVariable queryX = sd.placeHolder("task" + t + "/query_x", D, inputShape);
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
        return net;
    }

    /** Two blocks of 3x3 convolution (Same: padding 1), ReLU and 2x2 max pooling, then a softmax head. */
    private static MultiLayerNetwork convolutional(JsonNode ref) {
        int image = ref.get("image").asInt();
        JsonNode channels = ref.get("channels");
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().dataType(D)
                .convolutionMode(ConvolutionMode.Same).list();
        for (int block = 1; block < channels.size(); block++) {
            b.layer(new ConvolutionLayer.Builder(3, 3).nOut(channels.get(block).asInt())
                    .activation(Activation.RELU).build());
            b.layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build());
        }
        b.layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(ref.get("classes").asInt())
                .activation(Activation.SOFTMAX).build());
        b.setInputType(InputType.convolutional(image, image, channels.get(0).asInt()));
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        return net;
    }

    /** An LSTM (tanh cells, sigmoid gates) whose last time step feeds a softmax head. */
    private static MultiLayerNetwork recurrent(JsonNode ref) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(D).list()
                .layer(new LastTimeStep(new LSTM.Builder().nIn(ref.get("features").asInt())
                        .nOut(ref.get("units").asInt()).activation(Activation.TANH)
                        .gateActivationFunction(Activation.SIGMOID).build()))
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(ref.get("classes").asInt())
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(ref.get("features").asInt())).build());
        net.init();
        return net;
    }

    /** Sets the network's parameters to the reference's initial weights (PyTorch's layouts are DL4J's). */
    private static void initialise(MultiLayerNetwork net, JsonNode ref) {
        ref.get("initial").fields().forEachRemaining(e -> {
            INDArray target = net.getParam(e.getKey());
            target.assign(Nd4j.createFromArray(flatten(e.getValue())).reshape(target.shape()));
        });
    }

    private static ObjectMapper mapper() {
        return new ObjectMapper();
    }

    private static JsonNode reference(String resource) throws IOException {
        try (InputStream in = MamlTrajectoryTest.class.getResourceAsStream("/" + resource)) {
            return mapper().readTree(in);
        }
    }

    /** A nested JSON list as an array of its shape (the length of each level's first element). */
    private static INDArray tensor(JsonNode nested) {
        List<Long> shape = new ArrayList<>();
        for (JsonNode level = nested; level.isArray(); level = level.get(0)) {
            shape.add((long) level.size());
        }
        return Nd4j.createFromArray(flatten(nested)).reshape(shape.stream().mapToLong(Long::longValue).toArray());
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
