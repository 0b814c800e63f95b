package org.mutablemodules.examples;

import java.io.PrintStream;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A DL4J {@code ComputationGraph} with a residual block, converted; a small hypernetwork then predicts the residual
 * layer's weights from a task descriptor, is trained through the graph, and the weights it predicts for one task are
 * baked into a plain {@code ComputationGraph}.
 */
public final class GraphHypernetwork {

    /** The loss before and after training, and the largest difference between the graph and the baked network. */
    public record Result(double lossBefore, double lossAfter, double bakedDifference) {
    }

    private GraphHypernetwork() {
    }

    /**
     * Runs the example and prints what it does.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        run(System.out);
    }

    /**
     * Runs the example, printing to {@code out}.
     *
     * @param out where to print
     * @return the losses and the baked network's largest output difference
     */
    public static Result run(PrintStream out) {
        // README: graph
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).graphBuilder()
                .addInputs("x").setInputTypes(InputType.feedForward(4))
                .addLayer("stem", new DenseLayer.Builder().nOut(8).activation(Activation.TANH).build(), "x")
                .addLayer("residual", new DenseLayer.Builder().nOut(8).activation(Activation.TANH).build(), "stem")
                .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "stem", "residual")
                .addLayer("y", new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY)
                        .build(), "add")
                .setOutputs("y")
                .build());
        net.init();

        MutableNetwork mutable = MutableNetwork.of(net);      // placeholders "x" and "y/labels", output "y"
        SameDiff sd = mutable.graph().sameDiff();
        SDVariable task = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        long size = mutable.graph().flatSize("residual/W", "residual/b");
        SDVariable hyperW = sd.var("hyper/W", Nd4j.randn(DataType.FLOAT, 2, size).muli(0.1));
        SDVariable hyperB = sd.var("hyper/b", Nd4j.zeros(DataType.FLOAT, size));
        mutable.graph().setFromFlat(task.mmul(hyperW).add(hyperB), "residual/W", "residual/b");

        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 4).subi(0.5).muli(4);
        INDArray t = Nd4j.createFromArray(new float[][] {{1f, -1f}});
        INDArray y = Nd4j.sum(Nd4j.math().sin(x), 1).reshape(64, 1);    // the task: y = sum(sin(x))
        Map<String, INDArray> task1 = Map.of("task", t);
        double before = mutable.score(new INDArray[] {x}, new INDArray[] {y}, task1);
        GraphTrainer trainer = GraphTrainer.builder(mutable.graph()).loss(mutable.lossName())
                .updater(new Adam(0.01)).build();
        trainer.fit(() -> Map.of("x", x, "task", t, "y/labels", y), 300);
        double after = mutable.score(new INDArray[] {x}, new INDArray[] {y}, task1);
        out.printf("loss %.4f -> %.4f%n", before, after);

        ComputationGraph baked = mutable.toComputationGraph(task1);     // the task's weights in a plain graph
        double difference = baked.outputSingle(false, x).sub(mutable.output(x, task1)).amaxNumber().doubleValue();
        out.println("baked graph differs by at most " + difference);
        // README: end
        return new Result(before, after, difference);
    }
}
