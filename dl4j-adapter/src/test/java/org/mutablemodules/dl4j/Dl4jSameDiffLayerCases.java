package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleStrengthLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.LocallyConnected2D;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.PrimaryCapsules;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import java.util.Map;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * DL4J's own SameDiff-based layers and vertex (attention, locally connected, capsules), converted through their
 * {@code defineLayer}/{@code defineVertex}. DL4J's gradients of SameDiff-based layers are wrong (doubled, README
 * "Known limits"), so their gradients are checked against finite differences of the score only.
 */
final class Dl4jSameDiffLayerCases {

    private static final int N = 5;
    private static final int T = 4;

    private Dl4jSameDiffLayerCases() {
    }

    private static OutputLayer mse(int nOut) {
        return new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(nOut).build();
    }

    private static RnnOutputLayer rnnMse(int nOut) {
        return new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(nOut).build();
    }

    private static GlobalPoolingLayer pool() {
        return new GlobalPoolingLayer.Builder(PoolingType.AVG).build();
    }

    private static INDArray[] arrays(INDArray... a) {
        return a;
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("SelfAttentionLayer, 2 heads with projection, RNN output",
                type -> Networks.network(type, InputType.recurrent(4, T),
                        new SelfAttentionLayer.Builder().nOut(6).nHeads(2).projectInput(true).build(), rnnMse(3)),
                type -> Networks.randn(type, 1, N, 4, T), type -> Networks.randn(type, 2, N, 3, T), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("SelfAttentionLayer without projection, average pooling",
                type -> Networks.network(type, InputType.recurrent(3, T),
                        new SelfAttentionLayer.Builder().nHeads(1).projectInput(false).build(), pool(), mse(2)),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("LearnedSelfAttentionLayer, 3 queries, 2 heads, pooling",
                type -> Networks.network(type, InputType.recurrent(4, T),
                        new LearnedSelfAttentionLayer.Builder().nOut(6).nHeads(2).nQueries(3).projectInput(true)
                                .build(), pool(), mse(2)),
                type -> Networks.randn(type, 1, N, 4, T), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().withReference(Dl4jSameDiffLayerCases::withWorkingQueries));
        cases.add(new Case("LearnedSelfAttentionLayer without projection, 2 queries",
                type -> Networks.network(type, InputType.recurrent(3, T),
                        new LearnedSelfAttentionLayer.Builder().nHeads(1).nQueries(2).projectInput(false).build(),
                        pool(), mse(2)),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().withReference(Dl4jSameDiffLayerCases::withWorkingQueries));
        cases.add(new Case("RecurrentAttentionLayer, tanh, RNN output",
                type -> Networks.network(type, InputType.recurrent(3, T),
                        new RecurrentAttentionLayer.Builder().nIn(3).nOut(4).nHeads(2).projectInput(true)
                                .activation(Activation.TANH).build(), rnnMse(2)),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false, T)
                .withInexactDl4jGradient());
        // after other layers: DL4J defines them on a placeholder of the input's shape, which they read
        cases.add(new Case("RecurrentAttentionLayer after an LSTM, 2 heads, RNN output",
                type -> Networks.network(type, InputType.recurrent(3, T),
                        new LSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                        new RecurrentAttentionLayer.Builder().nIn(4).nOut(4).nHeads(2).projectInput(true)
                                .activation(Activation.TANH).build(), rnnMse(2)),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false, T)
                .withInexactDl4jGradient());
        // an input of indices keeps its length open: the conversion's sequence length fixes the unrolled steps
        cases.add(new Case("RecurrentAttentionLayer after an EmbeddingSequenceLayer, converted for its length",
                type -> Networks.network(type, null,
                        new EmbeddingSequenceLayer.Builder().nIn(6).nOut(3).inputLength(T)
                                .activation(Activation.IDENTITY).build(),
                        new RecurrentAttentionLayer.Builder().nIn(3).nOut(4).nHeads(1).projectInput(true)
                                .activation(Activation.TANH).build(),
                        // (its format set: DL4J leaves it unset without an input type, and then cannot train it)
                        new RnnOutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY)
                                .dataFormat(RNNFormat.NCW).build()),
                type -> Networks.indices(type, 1, 6, N, T), type -> Networks.randn(type, 2, N, 2, T), true, true, T)
                .withInexactDl4jGradient());
        cases.add(new Case("LocallyConnected2D after a convolution, same mode",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build(),
                        new LocallyConnected2D.Builder().nOut(2).kernelSize(2, 2).stride(1, 1)
                                .convolutionMode(ConvolutionMode.Same).activation(Activation.SIGMOID).build(),
                        mse(2)),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("LocallyConnected1D kernel 2, tanh, pooling",
                type -> Networks.network(type, InputType.recurrent(3, T),
                        new LocallyConnected1D.Builder().nIn(3).nOut(4).kernelSize(2).stride(1)
                                .activation(Activation.TANH).setInputSize(T).build(), pool(), mse(2)),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("LocallyConnected2D 2x2 kernel, sigmoid, dense output",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                        new LocallyConnected2D.Builder().nIn(2).nOut(3).kernelSize(2, 2).stride(1, 1)
                                .activation(Activation.SIGMOID).setInputSize(5, 5).build(), mse(2)),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("capsules: convolution, PrimaryCapsules, CapsuleLayer (2 routings), strength, softmax NLL",
                type -> Networks.network(type, InputType.convolutional(8, 8, 1),
                        new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build(),
                        new PrimaryCapsules.Builder(4, 2).kernelSize(3, 3).stride(2, 2).build(),
                        new CapsuleLayer.Builder(3, 4, 2).build(),
                        new CapsuleStrengthLayer.Builder().build(),
                        new ActivationLayer.Builder().activation(Activation.SOFTMAX).build(),
                        new LossLayer.Builder(LossFunction.NEGATIVELOGLIKELIHOOD).activation(Activation.IDENTITY)
                                .build()),
                type -> Networks.randn(type, 1, N, 1, 8, 8), type -> Networks.oneHot(type, 2, N, 3), true, false)
                .withInexactDl4jGradient());
        cases.add(Case.graph("AttentionVertex, queries from one input, keys and values from another",
                type -> Networks.graph(type, b -> b.addInputs("q", "kv")
                        .setInputTypes(InputType.recurrent(3, T), InputType.recurrent(4, T))
                        .addVertex("attention", new AttentionVertex.Builder().nOut(6).nHeads(2).nInQueries(3)
                                .nInKeys(4).nInValues(4).projectInput(true).build(), "q", "kv", "kv")
                        .addLayer("out", rnnMse(2), "attention")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3, T), Networks.randn(type, 2, N, 4, T)),
                type -> arrays(Networks.randn(type, 3, N, 2, T)))
                .withInexactDl4jGradient());
        return cases;
    }

    /**
     * The reference of a network whose first layer is a {@code LearnedSelfAttentionLayer}, which DL4J 1.0.0-M2.1
     * cannot run (its queries are tiled by a {@code scatter_update} libnd4j rejects): the same network with that
     * layer replaced by {@link TiledQueries}, same parameters.
     */
    private static Model withWorkingQueries(Model net) {
        MultiLayerNetwork original = (MultiLayerNetwork) net;
        MultiLayerConfiguration conf = original.getLayerWiseConfigurations().clone();
        LearnedSelfAttentionLayer layer = (LearnedSelfAttentionLayer) conf.getConf(0).getLayer();
        conf.getConf(0).setLayer(new TiledQueries(layer));
        MultiLayerNetwork reference = new MultiLayerNetwork(conf);
        reference.init(original.params().dup(), false);
        return reference;
    }

    /** A {@code LearnedSelfAttentionLayer} whose queries are tiled by an op libnd4j runs. */
    static final class TiledQueries extends LearnedSelfAttentionLayer {
        TiledQueries(LearnedSelfAttentionLayer original) {
            super(new LearnedSelfAttentionLayer.Builder().nIn((int) original.getNIn()).nOut((int) original.getNOut())
                    .nHeads(original.getNHeads()).headSize((int) original.getHeadSize())
                    .projectInput(original.isProjectInput()).nQueries(original.getNQueries()));
            setLayerName(original.getLayerName());
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> params, SDVariable mask) {
            SDVariable batch = sd.sizeAt(x, 0).castTo(DataType.INT).reshape(1);
            SDVariable reps = sd.concat(0, batch, sd.constant(Nd4j.createFromArray(1, 1)));
            SDVariable queries = sd.tile(params.get("Q"), reps);
            if (isProjectInput()) {
                return sd.nn.multiHeadDotProductAttention(getLayerName(), queries, x, x, params.get("Wq"),
                        params.get("Wk"), params.get("Wv"), params.get("Wo"), mask, true);
            }
            return sd.nn.dotProductAttention(getLayerName(), queries, x, x, mask, true);
        }
    }
}
