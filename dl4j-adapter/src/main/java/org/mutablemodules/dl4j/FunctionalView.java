package org.mutablemodules.dl4j;

import java.util.List;
import java.util.Map;
import org.mutablemodules.dl4j.internal.FunctionalNetwork;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link MutableNetwork} as a function of its parameters ({@link MutableNetwork#functional()}): the counterpart of
 * {@code torch.func.functional_call}, and the score's gradients as graph expressions for second-order meta-learning.
 * Every call adds expressions to the network's graph and leaves the network's own output, score and parameters as
 * they are; parameters not named read their current values ({@code m.param(key).value()}).
 *
 * <pre>{@code
 * FunctionalView f = m.functional();
 * SDVariable w = m.param("0_W").value();
 * SDVariable y = f.forward(x, Map.of("0_W", w.mul(0.5)));   // the network with half its first weights
 * }</pre>
 *
 * <p>The view computes as the converted network does, in DL4J's inference mode. {@link #training()} gives the same
 * calls in DL4J's training mode, where batch normalisation normalises by the batch's own statistics (what MAML's
 * convolutional networks use).
 */
public final class FunctionalView {

    private final MutableNetwork network;
    private final FunctionalNetwork calls;

    FunctionalView(MutableNetwork network, FunctionalNetwork calls) {
        this.network = network;
        this.calls = calls;
    }

    /** {@return the network this is a view of} */
    public MutableNetwork network() {
        return network;
    }

    /**
     * This view in DL4J's training mode: {@code BatchNormalization} layers normalise by the mean and biased variance
     * of the batch they are given (over the examples, and the positions of images and time series), as DL4J's
     * {@code output(x, true)} and training compute them, in {@link #forward}, {@link #loss} and
     * {@link #lossGradients}; the running statistics are neither read nor updated (their gradients are zero). Dropout,
     * random in DL4J's training, is refused by name there. For networks without batch normalisation both modes
     * compute the same.
     *
     * @return this view in DL4J's training mode (this view, if it is one)
     */
    public FunctionalView training() {
        return calls.isTraining() ? this : new FunctionalView(network, calls.training());
    }

    /** {@return true for a view in DL4J's training mode ({@link #training()})} */
    public boolean isTraining() {
        return calls.isTraining();
    }

    /**
     * The functional call, the counterpart of {@code torch.func.functional_call}: the network applied once more inside
     * this graph to {@code input}, with the given expressions in place of the named parameters. Parameters not named
     * read their current values ({@code param(key).value()}). The graph's own output is unchanged; the new
     * expression is added to the graph.
     *
     * <pre>{@code
     * SDVariable w = m.param("0_W").value();
     * SDVariable y = f.forward(x, Map.of("0_W", w.mul(0.5)));   // the network with half its first weights
     * }</pre>
     *
     * <p>The forward pass is the conversion's own: the same layer converters run again, reading the given
     * expressions instead of the parameters, so every layer and vertex that converts works here (convolutional,
     * recurrent, normalisation, wrapper and custom layers included), at DL4J's inference semantics (its training
     * semantics in a {@link #training()} view). For a network with several inputs or outputs, use
     * {@link #forward(List, Map)}.
     *
     * @param input      an expression of this graph, shaped as the network's input placeholder
     *                   ({@link MutableNetwork#inputName()}) and of its data type
     * @param parameters expressions of this graph keyed by DL4J's network-level keys ({@code 0_W}, {@code 1_b}), each
     *                   of its parameter's shape and data type; may be empty
     * @return the output activations
     * @throws IllegalArgumentException if the network has several inputs or outputs, a key is not a parameter of the
     *                                  network (the message lists the known keys), or {@code input} or an
     *                                  expression belongs to another graph, or has another data type or, where
     *                                  known, shape; the graph is then unchanged
     * @throws UnsupportedLayerException if a layer cannot be applied to this input (as at conversion); the graph is
     *                                   then unchanged
     */
    public SDVariable forward(SDVariable input, Map<String, SDVariable> parameters) {
        return calls.forward(input, parameters);
    }

    /**
     * The functional call of a network with any number of inputs and outputs; see
     * {@link #forward(SDVariable, Map)}.
     *
     * @param inputs     one expression per network input, in the order of {@link MutableNetwork#inputNames()}
     * @param parameters expressions keyed by DL4J's network-level keys, as for {@link #forward(SDVariable, Map)}
     * @return one expression per network output, in the order of {@link MutableNetwork#outputNames()}
     * @throws IllegalArgumentException  if the number of inputs is not the network's, or an argument is invalid, as
     *                                   for {@link #forward(SDVariable, Map)}; the graph is then unchanged
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, Map)}
     */
    public List<SDVariable> forward(List<SDVariable> inputs, Map<String, SDVariable> parameters) {
        return calls.forward(inputs, parameters);
    }

    /**
     * The score of {@link #forward(SDVariable, Map)} against {@code labels}, at this network's score convention
     * (DL4J's loss averaged over the minibatch, without regularisation): for the network's own input and labels
     * placeholders and no substitution, its value is {@link MutableNetwork#score(INDArray, INDArray)}. Built by the
     * same converters as the network's own score, for every loss function the conversion supports.
     *
     * @param input      an expression of this graph, shaped as the network's input placeholder
     * @param labels     an expression of this graph, shaped as the network's labels placeholder
     *                   ({@link MutableNetwork#labelName()})
     * @param parameters expressions keyed by DL4J's network-level keys, as for {@link #forward(SDVariable, Map)}
     * @return the scalar score
     * @throws IllegalStateException     if the network has no output layer
     * @throws IllegalArgumentException  if the network has several inputs or outputs, or an argument is invalid, as
     *                                   for {@link #forward(SDVariable, Map)}; the graph is then unchanged
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, Map)}
     */
    public SDVariable loss(SDVariable input, SDVariable labels, Map<String, SDVariable> parameters) {
        return calls.loss(input, labels, parameters);
    }

    /**
     * The score of {@link #forward(List, Map)}: the sum of the scores of the outputs given labels, as the network's
     * own score sums its output layers'.
     *
     * @param inputs     one expression per network input, in the order of {@link MutableNetwork#inputNames()}
     * @param labels     one expression per network output, in the order of {@link MutableNetwork#outputNames()}:
     *                   null for an output not to score (one without an output layer must be null); at least one
     *                   given
     * @param parameters expressions keyed by DL4J's network-level keys, as for {@link #forward(SDVariable, Map)}
     * @return the scalar score
     * @throws IllegalStateException     if the network has no output layer
     * @throws IllegalArgumentException  if a list's length is not the network's, no labels are given, labels are
     *                                   given for an output without an output layer, or an argument is invalid;
     *                                   the graph is then unchanged
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, Map)}
     */
    public SDVariable loss(List<SDVariable> inputs, List<SDVariable> labels, Map<String, SDVariable> parameters) {
        return calls.loss(inputs, labels, parameters);
    }

    /**
     * The functional call on variable-length time series: {@link #forward(SDVariable, Map)} with DL4J's features mask
     * ([N, T], 1 for the steps present, 0 for padding; an expression of this graph, such as a placeholder), which
     * reaches the layers as in {@link MutableNetwork#output(INDArray, INDArray, INDArray)}. A hypernetwork can so
     * generate the weights of a recurrent network trained on padded batches, and a first-order meta-learner adapt one.
     *
     * @param input      an expression of this graph, shaped as the network's input placeholder
     * @param mask       the features mask [N, T] (its shape, or the sequence length the network was converted for,
     *                   must tell T), or null
     * @param parameters expressions keyed by DL4J's network-level keys, as for {@link #forward(SDVariable, Map)}
     * @return the output activations
     * @throws IllegalArgumentException  if the network has several inputs or outputs, the mask is of another graph,
     *                                   data type or rank, given for an input that is no series, or of unknown length,
     *                                   this is a {@link #training()} view (masks apply at inference), or an argument
     *                                   is invalid as for {@link #forward(SDVariable, Map)}; the graph is then
     *                                   unchanged
     * @throws UnsupportedLayerException if a layer the mask reaches cannot take it (as for the network's masked
     *                                   calls); the graph is then unchanged
     */
    public SDVariable forward(SDVariable input, SDVariable mask, Map<String, SDVariable> parameters) {
        return calls.forward(input, mask, parameters);
    }

    /**
     * {@link #forward(SDVariable, SDVariable, Map)} for a network with any number of inputs and outputs.
     *
     * @param inputs     one expression per network input
     * @param masks      one features mask per input, null entries for none
     * @param parameters expressions keyed by DL4J's network-level keys
     * @return one expression per network output
     * @throws IllegalArgumentException  as {@link #forward(SDVariable, SDVariable, Map)}, or if a list's length is not
     *                                   the network's
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, SDVariable, Map)}
     */
    public List<SDVariable> forward(List<SDVariable> inputs, List<SDVariable> masks,
                                    Map<String, SDVariable> parameters) {
        return calls.forward(inputs, masks, parameters);
    }

    /**
     * The score of {@link #forward(SDVariable, SDVariable, Map)} against {@code labels}, scored on the steps the
     * labels mask keeps ([N, T], per time step), as {@link MutableNetwork#score(org.nd4j.linalg.dataset.api.DataSet)}
     * scores a {@code DataSet} with those masks; differentiable with respect to the parameters' expressions (for
     * meta-learning on series; second-order with {@link #lossGradients(SDVariable, SDVariable, SDVariable, SDVariable,
     * Map)}).
     *
     * @param input      an expression of this graph, shaped as the network's input placeholder
     * @param labels     an expression of this graph, shaped as the network's labels placeholder
     * @param mask       the features mask [N, T], or null
     * @param labelMask  the labels mask [N, T], or null
     * @param parameters expressions keyed by DL4J's network-level keys
     * @return the scalar score
     * @throws IllegalStateException     if the network has no output layer
     * @throws IllegalArgumentException  as {@link #forward(SDVariable, SDVariable, Map)}
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, SDVariable, Map)}
     */
    public SDVariable loss(SDVariable input, SDVariable labels, SDVariable mask, SDVariable labelMask,
                           Map<String, SDVariable> parameters) {
        return calls.loss(input, labels, mask, labelMask, parameters);
    }

    /**
     * {@link #loss(SDVariable, SDVariable, SDVariable, SDVariable, Map)} for a network with any number of inputs and
     * outputs: the sum of the scores of the outputs given labels.
     *
     * @param inputs     one expression per network input
     * @param labels     one expression per network output, null for an output not to score
     * @param masks      one features mask per input, null entries (or a null list) for none
     * @param labelMasks one labels mask per output, null entries (or a null list) for none
     * @param parameters expressions keyed by DL4J's network-level keys
     * @return the scalar score
     * @throws IllegalStateException     if the network has no output layer
     * @throws IllegalArgumentException  as {@link #forward(List, List, Map)}
     * @throws UnsupportedLayerException as {@link #forward(SDVariable, SDVariable, Map)}
     */
    public SDVariable loss(List<SDVariable> inputs, List<SDVariable> labels, List<SDVariable> masks,
                           List<SDVariable> labelMasks, Map<String, SDVariable> parameters) {
        return calls.loss(inputs, labels, masks, labelMasks, parameters);
    }

    /**
     * The gradients of {@link #loss(SDVariable, SDVariable, Map)} with respect to every parameter of the network (the
     * named ones at the given expressions, the others at their current values), keyed by DL4J's network-level keys,
     * as ordinary graph expressions: built by explicit backward rules per layer from ops whose own gradients are
     * right, so SameDiff can differentiate them again. That makes second-order meta-learning possible (SameDiff
     * cannot differentiate its own gradient function): a MAML inner step is
     * <pre>{@code
     * Map<String, SDVariable> g = f.lossGradients(supportX, supportY, Map.of());
     * Map<String, SDVariable> adapted = new HashMap<>();
     * g.forEach((key, grad) -> adapted.put(key, m.param(key).value().sub(grad.mul(innerRate))));
     * SDVariable metaLoss = f.loss(queryX, queryY, adapted);   // differentiable down to the initial parameters
     * }</pre>
     *
     * <p>Explicit backward rules exist for a {@code MultiLayerNetwork}, or a {@code ComputationGraph} that is a chain
     * of layers, of {@code DenseLayer}, {@code OutputLayer}, {@code ActivationLayer}, {@code DropoutLayer},
     * {@code ConvolutionLayer} (NCHW and NHWC, any stride, padding and dilation, ConvolutionMode Same, Truncate or
     * Strict), max- and average-pooling {@code SubsamplingLayer}s (any kernel, stride, padding and dilation),
     * {@code GlobalPoolingLayer}s (AVG, SUM, MAX), {@code BatchNormalization} (running statistics, or the batch's in
     * {@link #training()}), an {@code EmbeddingLayer} reading the input, {@code SimpleRnn} and {@code LSTM} (also
     * inside {@code LastTimeStep}; unrolled for the input's number of time steps, else the sequence length the
     * network was converted for) and {@code RnnOutputLayer}, with DL4J's flattening pre-processors between them;
     * activations identity, ReLU, leaky ReLU, tanh, sigmoid and softmax; losses MSE, L2, MAE, L1, MCXENT, negative
     * log-likelihood and XENT.
     *
     * @param input      an expression of this graph, [N, nIn] (or [N, C, H, W], [N, H, W, C] for a convolution,
     *                   [N, nIn, T], [N, T, nIn] for a recurrent layer)
     * @param labels     an expression of this graph, [N, nOut] (or [N, nOut, T], [N, T, nOut] for an
     *                   {@code RnnOutputLayer})
     * @param parameters expressions keyed by DL4J's network-level keys, as for {@link #forward(SDVariable, Map)}
     * @return one gradient per parameter key, each of its parameter's shape, in the network's parameter order
     * @throws IllegalStateException     if the network does not end with an output layer
     * @throws UnsupportedLayerException if a layer, its activation or its loss has no explicit backward rule (the
     *                                   message names the first such layer)
     * @throws IllegalArgumentException  if an argument is invalid, as for {@link #forward(SDVariable, Map)}; the
     *                                   graph is then unchanged
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels,
                                                 Map<String, SDVariable> parameters) {
        return calls.lossGradients(input, labels, parameters);
    }

    /**
     * The gradients of {@link #loss(SDVariable, SDVariable, SDVariable, SDVariable, Map)}, the score of a masked
     * series, as {@link #lossGradients(SDVariable, SDVariable, Map)} gives them unmasked: built by explicit backward
     * rules that apply DL4J's masks as DL4J does, so SameDiff can differentiate them again (second-order
     * meta-learning on variable-length series). A {@code SimpleRnn} zeroes its output at steps of padding (the next
     * step reads that zero); an {@code LSTM} does the same with its output and cell state inside
     * {@code LastTimeStep}, which takes each example's last step present, and elsewhere computes without the mask,
     * as DL4J's; {@code ActivationLayer} and {@code DropoutLayer} pass the mask on; a {@code GlobalPoolingLayer} over
     * the time axis of NCW series pools the steps present (maximum, sum or mean); an {@code RnnOutputLayer} is scored
     * on the steps its labels mask keeps. A mask reaching any other layer is refused, naming it.
     *
     * @param input      an expression of this graph, shaped as the network's input placeholder
     * @param labels     an expression of this graph, shaped as the network's labels placeholder
     * @param mask       the features mask [N, T], or null
     * @param labelMask  the labels mask [N, T] of an {@code RnnOutputLayer}, or null
     * @param parameters expressions keyed by DL4J's network-level keys
     * @return one gradient per parameter key, each of its parameter's shape, in the network's parameter order
     * @throws IllegalStateException     if the network does not end with an output layer
     * @throws UnsupportedLayerException if a layer has no explicit backward rule, or none for the mask that reaches
     *                                   it (the message names the layer)
     * @throws IllegalArgumentException  as {@link #loss(SDVariable, SDVariable, SDVariable, SDVariable, Map)}, or if
     *                                   a labels mask is given for an output layer that scores no time steps; the
     *                                   graph is then unchanged
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels, SDVariable mask,
                                                 SDVariable labelMask, Map<String, SDVariable> parameters) {
        return calls.lossGradients(input, labels, mask, labelMask, parameters);
    }
}
