package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link LayerParityTest} cases of {@code ComputationGraph}s: every supported graph vertex, several inputs, several
 * output layers (DL4J sums their scores), and frozen vertices made by DL4J's transfer learning.
 */
final class VertexCases {

    private static final int N = 5;
    private static final int T = 4;

    private VertexCases() {
    }

    private static DenseLayer dense(int nOut, Activation act) {
        return new DenseLayer.Builder().nOut(nOut).activation(act).build();
    }

    private static OutputLayer mse(int nOut) {
        return new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(nOut).build();
    }

    private static INDArray[] arrays(INDArray... a) {
        return a;
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(Case.graph("merge of two inputs' dense branches",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(4))
                        .addLayer("da", dense(5, Activation.TANH), "a")
                        .addLayer("db", dense(2, Activation.SIGMOID), "b")
                        .addVertex("merge", new MergeVertex(), "da", "db")
                        .addLayer("out", mse(2), "merge")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 4)),
                type -> arrays(Networks.randn(type, 3, N, 2))));
        for (ElementWiseVertex.Op op : ElementWiseVertex.Op.values()) {
            boolean two = op == ElementWiseVertex.Op.Subtract;
            cases.add(Case.graph("element-wise " + op + " of " + (two ? 2 : 3) + " branches",
                    type -> Networks.graph(type, b -> {
                        b.addInputs("in").setInputTypes(InputType.feedForward(4))
                                .addLayer("d1", dense(5, Activation.TANH), "in")
                                .addLayer("d2", dense(5, Activation.IDENTITY), "in");
                        if (two) {
                            b.addVertex("op", new ElementWiseVertex(op), "d1", "d2");
                        } else {
                            b.addLayer("d3", dense(5, Activation.SIGMOID), "in")
                                    .addVertex("op", new ElementWiseVertex(op), "d1", "d2", "d3");
                        }
                        b.addLayer("out", mse(2), "op").setOutputs("out");
                    }),
                    type -> arrays(Networks.randn(type, 1, N, 4)), type -> arrays(Networks.randn(type, 2, N, 2))));
        }
        cases.add(Case.graph("scale, shift and L2-normalize vertices",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(4))
                        .addLayer("d", dense(6, Activation.TANH), "in")
                        .addVertex("scale", new ScaleVertex(1.7), "d")
                        .addVertex("shift", new ShiftVertex(-0.3), "scale")
                        .addVertex("norm", new L2NormalizeVertex(), "shift")
                        .addLayer("out", mse(2), "norm")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 4)), type -> arrays(Networks.randn(type, 2, N, 2))));
        cases.add(Case.graph("L2 distance between two branches (a Siamese head)",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(3))
                        .addLayer("da", dense(4, Activation.TANH), "a")
                        .addLayer("db", dense(4, Activation.TANH), "b")
                        .addVertex("distance", new L2Vertex(), "da", "db")
                        .addLayer("out", mse(1), "distance")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 3)),
                type -> arrays(Networks.randn(type, 3, N, 1))));
        cases.add(Case.graph("subset of dense features and of conv channels",
                // No input types: DL4J's SubsetVertex reports a wrong type for images and would size "d" to 0.
                type -> Networks.graph(type, b -> b.addInputs("img")
                        .addLayer("conv", new ConvolutionLayer.Builder(2, 2).nIn(2).nOut(4).activation(Activation.TANH)
                                .build(), "img")
                        .addVertex("channels", new SubsetVertex(1, 2), "conv")
                        .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "channels")
                        .addLayer("d", new DenseLayer.Builder().nIn(2).nOut(6).activation(Activation.TANH).build(),
                                "pool")
                        .addVertex("features", new SubsetVertex(2, 4), "d")
                        .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY)
                                .nIn(3).nOut(2).build(), "features")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 2, 5, 5)), type -> arrays(Networks.randn(type, 2, N, 2))));
        cases.add(Case.graph("stack two inputs, a shared layer, unstack and merge",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(3))
                        .addVertex("stack", new StackVertex(), "a", "b")
                        .addLayer("shared", dense(4, Activation.TANH), "stack")
                        .addVertex("first", new UnstackVertex(0, 2), "shared")
                        .addVertex("second", new UnstackVertex(1, 2), "shared")
                        .addVertex("both", new ElementWiseVertex(ElementWiseVertex.Op.Subtract), "first", "second")
                        .addLayer("out", mse(2), "both")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 3)),
                type -> arrays(Networks.randn(type, 3, N, 2))));
        cases.add(Case.graph("pre-processor vertex and pool-helper vertex on conv activations",
                type -> Networks.graph(type, b -> b.addInputs("img")       // no input types: DL4J would size "out" wrongly
                        .addLayer("conv", new ConvolutionLayer.Builder(2, 2).nIn(1).nOut(2).activation(Activation.RELU)
                                .build(), "img")
                        .addVertex("strip", new PoolHelperVertex(), "conv")
                        .addVertex("flat", new PreprocessorVertex(new CnnToFeedForwardPreProcessor(3, 3, 2)), "strip")
                        .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY)
                                .nIn(18).nOut(2).build(), "flat")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 1, 5, 5)), type -> arrays(Networks.randn(type, 2, N, 2))));
        for (char order : new char[] {'c', 'f'}) {
            cases.add(Case.graph("reshape vertices in '" + order + "' order",
                    type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(4))
                            .addLayer("d", dense(6, Activation.TANH), "in")
                            .addVertex("grid", new ReshapeVertex(order, new int[] {-1, 2, 3}, null), "d")
                            .addVertex("scaled", new ScaleVertex(2.0), "grid")
                            .addVertex("flat", new ReshapeVertex(order == 'c' ? 'f' : 'c', new int[] {-1, 6}, null),
                                    "scaled")
                            .addLayer("out", mse(2), "flat")
                            .setOutputs("out")),
                    type -> arrays(Networks.randn(type, 1, N, 4)), type -> arrays(Networks.randn(type, 2, N, 2))));
        }
        cases.add(Case.graph("last-time-step vertex after an LSTM",
                type -> Networks.graph(type, b -> b.addInputs("seq").setInputTypes(InputType.recurrent(3))
                        .addLayer("lstm", new LSTM.Builder().nOut(4).activation(Activation.TANH).build(), "seq")
                        .addVertex("last", new LastTimeStepVertex("seq"), "lstm")
                        .addLayer("out", mse(2), "last")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3, T)), type -> arrays(Networks.randn(type, 2, N, 2))));
        cases.add(Case.graph("duplicate-to-time-series vertex merged with a sequence input",
                type -> Networks.graph(type, b -> b.addInputs("seq", "static")
                        .setInputTypes(InputType.recurrent(3), InputType.feedForward(2))
                        .addLayer("d", dense(2, Activation.TANH), "static")
                        .addVertex("repeat", new DuplicateToTimeSeriesVertex("seq"), "d")
                        .addVertex("merge", new MergeVertex(), "seq", "repeat")
                        .addLayer("lstm", new LSTM.Builder().nOut(4).activation(Activation.TANH).build(), "merge")
                        .addLayer("out", new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY)
                                .nOut(2).build(), "lstm")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3, T), Networks.randn(type, 2, N, 2)),
                type -> arrays(Networks.randn(type, 3, N, 2, T))));
        cases.add(Case.graph("two output layers: DL4J sums their scores",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(4))
                        .addLayer("trunk", dense(6, Activation.TANH), "in")
                        .addLayer("regression", mse(2), "trunk")
                        .addLayer("classes", new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX)
                                .nOut(3).build(), "trunk")
                        .setOutputs("regression", "classes")),
                type -> arrays(Networks.randn(type, 1, N, 4)),
                type -> arrays(Networks.randn(type, 2, N, 2), Networks.oneHot(type, 3, N, 3))));
        cases.add(Case.graph("frozen layers and a frozen merge vertex (as transfer learning freezes them)",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(2))
                        .addLayer("da", new FrozenLayer(dense(4, Activation.TANH)), "a")
                        .addLayer("db", new FrozenLayer(dense(3, Activation.TANH)), "b")
                        .addVertex("merge", new FrozenVertex(new MergeVertex()), "da", "db")
                        .addLayer("head", dense(5, Activation.TANH), "merge")
                        .addLayer("out", mse(2), "head")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 2)),
                type -> arrays(Networks.randn(type, 3, N, 2))));
        cases.add(Case.graph("a FrozenLayer passes no gradient back: the layer before it is not trained through it",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(3))
                        .addLayer("before", dense(4, Activation.TANH), "in")
                        .addLayer("frozen", new FrozenLayer(dense(4, Activation.TANH)), "before")
                        .addLayer("after", dense(3, Activation.TANH), "before")
                        .addVertex("merge", new MergeVertex(), "frozen", "after")
                        .addLayer("out", mse(2), "merge")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3)), type -> arrays(Networks.randn(type, 2, N, 2)))
                .withGradientStoppedAt("before_W", "before_b"));
        cases.add(Case.graph("L2 distance of a branch to itself: zero, with a finite gradient",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(3))
                        .addLayer("d", dense(4, Activation.TANH), "in")
                        .addVertex("distance", new L2Vertex(), "d", "d")
                        .addVertex("both", new MergeVertex(), "distance", "d")
                        .addLayer("out", mse(2), "both")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3)), type -> arrays(Networks.randn(type, 2, N, 2))));
        cases.add(Case.graph("L2 distances of one-unit activations, chained, and an L2-normalized one-unit layer",
                // reductions of [N, 1] along axis 1 fail in ND4J's graph sessions unless rewritten (Reductions)
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(3))
                        .addLayer("a", dense(1, Activation.TANH), "in")
                        .addLayer("b", dense(1, Activation.SIGMOID), "in")
                        .addVertex("ab", new L2Vertex(), "a", "b")
                        .addLayer("c", dense(1, Activation.IDENTITY), "in")
                        .addVertex("abc", new L2Vertex(), "ab", "c")
                        .addVertex("unit", new L2NormalizeVertex(), "c")
                        .addVertex("both", new MergeVertex(), "abc", "unit")
                        .addLayer("out", mse(2), "both")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3)), type -> arrays(Networks.randn(type, 2, N, 2))));
        return cases;
    }

}
