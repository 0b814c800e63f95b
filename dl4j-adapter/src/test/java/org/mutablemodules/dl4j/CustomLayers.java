package org.mutablemodules.dl4j;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.NoParamLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SDVertexParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaVertex;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.AbstractLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Layers and vertices of the kind users write themselves, for the tests: in SameDiff (which convert), in Java (which
 * are refused), and broken ones. Each has the no-argument constructor DL4J needs to copy configurations.
 */
final class CustomLayers {

    private CustomLayers() {
    }

    /** Fills a parameter with fixed normal values, so that every network built from a layer is alike. */
    static void randomise(INDArray param, long seed, double scale) {
        Nd4j.getRandom().setSeed(seed);
        param.assign(Nd4j.randn(param.dataType(), param.shape()).muli(scale));
    }

    /** {@code tanh(x W + b) * s}: W [nIn, nOut], b [1, nOut], s [1, nOut] (the three-parameter layer). */
    public static class ScaledDense extends SameDiffLayer {
        protected long nIn;
        protected long nOut;

        ScaledDense() {
        }

        ScaledDense(long nIn, long nOut) {
            this.nIn = nIn;
            this.nOut = nOut;
        }

        @Override
        public void defineParameters(SDLayerParams params) {
            params.addWeightParam("W", nIn, nOut);
            params.addBiasParam("b", 1, nOut);
            params.addBiasParam("s", 1, nOut);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            randomise(params.get("W"), 1, 1.0 / Math.sqrt(nIn));
            randomise(params.get("b"), 2, 0.3);
            randomise(params.get("s"), 3, 0.5);
            params.get("s").addi(1);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            return sd.math().tanh(x.mmul(p.get("W")).add(p.get("b"))).mul(p.get("s"));
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return InputType.feedForward(nOut);
        }
    }

    /**
     * {@code tanh(x W + b) * gain + shift} where {@code gain} is a variable and {@code shift} a constant the layer
     * creates itself with names of its own, through SameDiff methods that ignore name scopes: two instances in one
     * network would clash without the conversion's renaming.
     */
    public static class NamingDense extends SameDiffLayer {
        private long nIn;
        private long nOut;

        NamingDense() {
        }

        NamingDense(long nIn, long nOut) {
            this.nIn = nIn;
            this.nOut = nOut;
        }

        @Override
        public void defineParameters(SDLayerParams params) {
            params.addWeightParam("W", nIn, nOut);
            params.addBiasParam("b", 1, nOut);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            randomise(params.get("W"), 4, 1.0 / Math.sqrt(nIn));
            randomise(params.get("b"), 5, 0.3);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            SDVariable gain = sd.var("gain", Nd4j.valueArrayOf(new long[] {1, nOut}, 1.5).castTo(x.dataType()));
            SDVariable shift = sd.constant("shift",
                    Nd4j.valueArrayOf(new long[] {1, nOut}, -0.25).castTo(x.dataType()));
            return sd.math().tanh(x.mmul(p.get("W")).add(p.get("b"))).mul(gain).add(shift);
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return InputType.feedForward(nOut);
        }
    }

    /** {@code x * sigmoid(x)}, no parameters, any rank. */
    public static class Swish extends SameDiffLambdaLayer {
        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x) {
            return x.mul(sd.nn().sigmoid(x));
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return inputType;
        }
    }

    /**
     * An output layer with its own loss: activations {@code out = x W + b} (the variable "out"), loss SameDiff's mean
     * squared error against the labels, marked as a loss by SameDiff itself.
     */
    public static class MseOutput extends SameDiffOutputLayer {
        private long nIn;
        private long nOut;

        MseOutput() {
        }

        MseOutput(long nIn, long nOut) {
            this.nIn = nIn;
            this.nOut = nOut;
        }

        @Override
        public void defineParameters(SDLayerParams params) {
            params.addWeightParam("W", nIn, nOut);
            params.addBiasParam("b", 1, nOut);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            randomise(params.get("W"), 6, 1.0 / Math.sqrt(nIn));
            randomise(params.get("b"), 7, 0.3);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
            SDVariable out = x.mmul(p.get("W")).add("out", p.get("b"));
            return sd.loss().meanSquaredError("loss", labels, out, null);
        }

        @Override
        public String activationsVertexName() {
            return "out";
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return InputType.feedForward(nOut);
        }
    }

    /** {@code a * sigmoid(alpha) + b * (1 - sigmoid(alpha))}: a learned per-feature mix of two inputs, alpha [1, n]. */
    public static class WeightedMix extends SameDiffVertex {
        private long n;

        WeightedMix() {
        }

        WeightedMix(long n) {
            this.n = n;
        }

        @Override
        public void defineParametersAndInputs(SDVertexParams params) {
            params.defineInputs("a", "b");
            params.addWeightParam("alpha", 1, n);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            randomise(params.get("alpha"), 8, 1.0);
        }

        @Override
        public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> p,
                                       Map<String, SDVariable> masks) {
            SDVariable gate = sd.nn().sigmoid(p.get("alpha"));
            return in.get("a").mul(gate).add(in.get("b").mul(gate.rsub(1.0)));
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType... inputs) {
            return inputs[0];
        }

        @Override
        public GraphVertex clone() {
            return new WeightedMix(n);
        }
    }

    /**
     * {@code tanh(x * w) * mask + sum(mask) / 100}: the output of a layer or vertex that reads the mask it is given
     * ({@code expandDims(mask, 1)} against a series [N, n, T]), w [1, 1]. Where the data have no mask DL4J gives ones
     * ([N, 1] for rows, [N, T] for a series, [N, 1, 1, 1] for images), and the output counts them: a mask of another
     * shape, or none, shows.
     */
    static SDVariable maskRead(SameDiff sd, SDVariable x, SDVariable w, SDVariable mask, boolean series) {
        SDVariable m = series ? sd.expandDims(mask, 1) : mask;
        return sd.math().tanh(x.mul(w)).mul(m).add(mask.sum().div(100));
    }

    /** A layer that reads its mask ({@link #maskRead}); {@code series} for an input [N, n, T]. */
    public static class MaskReading extends SameDiffLayer {
        protected boolean series;

        MaskReading() {
        }

        MaskReading(boolean series) {
            this.series = series;
        }

        @Override
        public void defineParameters(SDLayerParams params) {
            params.addWeightParam("w", 1, 1);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            params.get("w").assign(0.8);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            return maskRead(sd, x, p.get("w"), mask, series);
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return inputType;
        }
    }

    /** A vertex of one input "in" that reads its mask ({@link #maskRead}); {@code series} for an input [N, n, T]. */
    public static class MaskReadingVertex extends SameDiffVertex {
        protected boolean series;

        MaskReadingVertex() {
        }

        MaskReadingVertex(boolean series) {
            this.series = series;
        }

        @Override
        public void defineParametersAndInputs(SDVertexParams params) {
            params.defineInputs("in");
            params.addWeightParam("w", 1, 1);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            params.get("w").assign(0.8);
        }

        @Override
        public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> p,
                                       Map<String, SDVariable> masks) {
            return maskRead(sd, in.get("in"), p.get("w"), masks.get("in"), series);
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType... inputs) {
            return inputs[0];
        }

        @Override
        public GraphVertex clone() {
            return new MaskReadingVertex(series);
        }
    }

    /** {@code a * b + a}: a lambda vertex of two inputs. */
    public static class ProductPlus extends SameDiffLambdaVertex {
        @Override
        public SDVariable defineVertex(SameDiff sd, VertexInputs inputs) {
            SDVariable a = inputs.getInput(0);
            return a.mul(inputs.getInput(1)).add(a);
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType... inputs) {
            return inputs[0];
        }
    }

    // ---- broken layers, for the bad-input tests ---------------------------------------------------------------

    /** A dense layer whose defineLayer throws. */
    public static class Throwing extends ScaledDense {
        Throwing() {
        }

        Throwing(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            throw new IllegalStateException("deliberately broken");
        }
    }

    /** A dense layer that declares nOut outputs but returns x W with W [nIn, nOut + 2]. */
    public static class TooWide extends ScaledDense {
        TooWide() {
        }

        TooWide(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            SDVariable extra = sd.constant(Nd4j.ones(x.dataType(), nIn, 2));
            return sd.concat(1, x.mmul(p.get("W")), x.mmul(extra));
        }
    }

    /** A dense layer that averages over the minibatch: [nOut] instead of [N, nOut]. */
    public static class DropsMinibatch extends ScaledDense {
        DropsMinibatch() {
        }

        DropsMinibatch(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            return sd.mean(x.mmul(p.get("W")), 0);
        }
    }

    /** A dense layer that returns null. */
    public static class ReturnsNull extends ScaledDense {
        ReturnsNull() {
        }

        ReturnsNull(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
            return null;
        }
    }

    /** An output layer whose "loss" is one number per example, of which DL4J would read only the first. */
    public static class PerExampleLoss extends MseOutput {
        PerExampleLoss() {
        }

        PerExampleLoss(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
            SDVariable out = x.mmul(p.get("W")).add("out", p.get("b"));
            return sd.sum(sd.math().square(out.sub(labels)), 1);
        }
    }

    /** An output layer naming activations its defineLayer never creates. */
    public static class MissingActivations extends MseOutput {
        MissingActivations() {
        }

        MissingActivations(long nIn, long nOut) {
            super(nIn, nOut);
        }

        @Override
        public String activationsVertexName() {
            return "prediction";
        }
    }

    /** A vertex whose defineVertex throws. */
    public static class ThrowingVertex extends WeightedMix {
        ThrowingVertex() {
        }

        ThrowingVertex(long n) {
            super(n);
        }

        @Override
        public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> p,
                                       Map<String, SDVariable> masks) {
            throw new UnsupportedOperationException("not today");
        }

        @Override
        public GraphVertex clone() {
            return new ThrowingVertex();
        }
    }

    // ---- written in Java: DL4J runs them, the conversion refuses them ----------------------------------------

    /** {@code 2 x}, computed by its own Java code ({@link JavaDoublingImpl}). */
    public static class JavaDoubling extends NoParamLayer {
        @Override
        public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                           Collection<TrainingListener> listeners, int index,
                                                           INDArray paramsView, boolean initialize,
                                                           DataType dataType) {
            JavaDoublingImpl layer = new JavaDoublingImpl(conf, dataType);
            layer.setIndex(index);
            layer.setParamsViewArray(paramsView);
            layer.setParamTable(initializer().init(conf, paramsView, initialize));
            layer.setConf(conf);
            return layer;
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return inputType;
        }

        @Override
        public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
            return null;
        }

        @Override
        public LayerMemoryReport getMemoryReport(InputType inputType) {
            return new LayerMemoryReport.Builder(layerName, JavaDoubling.class, inputType, inputType)
                    .standardMemory(0, 0).workingMemory(0, 0, 0, 0)
                    .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS).build();
        }
    }

    /** The Java computation of {@link JavaDoubling}: its own activate and backpropGradient. */
    static final class JavaDoublingImpl extends AbstractLayer<JavaDoubling> {
        JavaDoublingImpl(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
            assertInputSet(false);
            return mgr.dup(ArrayType.ACTIVATIONS, input).muli(2);
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
            return new Pair<>(new DefaultGradient(), mgr.dup(ArrayType.ACTIVATION_GRAD, epsilon).muli(2));
        }

        @Override
        public Type type() {
            return Type.FEED_FORWARD;
        }

        @Override
        public boolean isPretrainLayer() {
            return false;
        }

        @Override
        public void clearNoiseWeightParams() {
        }

        @Override
        public INDArray params() {
            return null;
        }

        @Override
        public double calcRegularizationScore(boolean backpropParamsOnly) {
            return 0;
        }
    }

    /** {@code 2 x} as a graph vertex, computed by DL4J's Java {@code ScaleVertex} runtime. */
    public static class JavaDoublingVertex extends GraphVertex {
        @Override
        public GraphVertex clone() {
            return new JavaDoublingVertex();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof JavaDoublingVertex;
        }

        @Override
        public int hashCode() {
            return JavaDoublingVertex.class.hashCode();
        }

        @Override
        public long numParams(boolean backprop) {
            return 0;
        }

        @Override
        public int minVertexInputs() {
            return 1;
        }

        @Override
        public int maxVertexInputs() {
            return 1;
        }

        @Override
        public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                         INDArray paramsView, boolean initialize,
                                                                         DataType dataType) {
            return new org.deeplearning4j.nn.graph.vertex.impl.ScaleVertex(graph, name, idx, 2.0, dataType);
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType... inputs) {
            return inputs[0];
        }

        @Override
        public MemoryReport getMemoryReport(InputType... inputs) {
            return null;
        }
    }
}
