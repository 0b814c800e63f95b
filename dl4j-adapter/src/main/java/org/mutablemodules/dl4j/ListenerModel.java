package org.mutablemodules.dl4j;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.ConvexOptimizer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What DL4J's {@link TrainingListener}s see of a {@link MutableNetwork} while it fits: a model that answers what
 * listeners read (the last step's score, its first input and batch size, the time spent waiting for it, the number of
 * parameters) and refuses the rest by name, since the network is a SameDiff graph, not a DL4J model.
 *
 * <p>It is a {@link MultiLayerNetwork} (never initialised, over a one-layer placeholder configuration) because DL4J's
 * own listeners cast to one: {@code PerformanceListener} reads {@code getLastEtlTime()} from any model that is not a
 * {@code ComputationGraph}. Everything a listener could take for the network's content ({@code params()},
 * {@code conf()}, {@code paramTable()}...) is refused, so a listener that needs a DL4J model (a checkpoint writer)
 * fails at once instead of saving the placeholder.
 */
final class ListenerModel extends MultiLayerNetwork {

    private final long numParams;
    private double score = Double.NaN;
    private INDArray input;
    private long etlMillis;

    ListenerModel(long numParams) {
        super(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(1).build()).build());
        this.numParams = numParams;
    }

    /** Records a step: its score (with regularisation), its first input array, the time spent getting its data. */
    void stepDone(double stepScore, INDArray firstInput, long dataMillis) {
        this.score = stepScore;
        this.input = firstInput;
        this.etlMillis = dataMillis;
    }

    @Override
    public long getLastEtlTime() {
        return etlMillis;
    }

    @Override
    public double score() {
        return score;
    }

    @Override
    public INDArray input() {
        return input;
    }

    @Override
    public int batchSize() {
        return input == null ? 0 : (int) input.size(0);
    }

    @Override
    public long numParams() {
        return numParams;
    }

    @Override
    public long numParams(boolean backwards) {
        return numParams;
    }

    private static UnsupportedOperationException unsupported(String method) {
        return new UnsupportedOperationException("A listener called " + method + " on a MutableNetwork's view for "
                + "listeners, which answers score(), input(), batchSize() and numParams() only.");
    }

    @Override
    public void init() {
        throw unsupported("init()");
    }

    @Override
    public void setListeners(Collection<TrainingListener> listeners) {
        throw unsupported("setListeners(...)");
    }

    @Override
    public void setListeners(TrainingListener... listeners) {
        throw unsupported("setListeners(...)");
    }

    @Override
    public void addListeners(TrainingListener... listener) {
        throw unsupported("addListeners(...)");
    }

    @Override
    @Deprecated
    public void fit() {
        throw unsupported("fit()");
    }

    @Override
    public void update(Gradient gradient) {
        throw unsupported("update(Gradient)");
    }

    @Override
    public void update(INDArray gradient, String paramType) {
        throw unsupported("update(INDArray, String)");
    }

    @Override
    public void computeGradientAndScore(LayerWorkspaceMgr workspaceMgr) {
        throw unsupported("computeGradientAndScore(...)");
    }

    @Override
    public INDArray params() {
        throw unsupported("params()");
    }

    @Override
    public void setParams(INDArray params) {
        throw unsupported("setParams(...)");
    }

    @Override
    public void setParamsViewArray(INDArray params) {
        throw unsupported("setParamsViewArray(...)");
    }

    @Override
    public INDArray getGradientsViewArray() {
        throw unsupported("getGradientsViewArray()");
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray gradients) {
        throw unsupported("setBackpropGradientsViewArray(...)");
    }

    @Override
    public void fit(INDArray data, LayerWorkspaceMgr workspaceMgr) {
        throw unsupported("fit(INDArray, LayerWorkspaceMgr)");
    }

    @Override
    public Gradient gradient() {
        throw unsupported("gradient()");
    }

    @Override
    public Pair<Gradient, Double> gradientAndScore() {
        throw unsupported("gradientAndScore()");
    }

    @Override
    public NeuralNetConfiguration conf() {
        throw unsupported("conf()");
    }

    @Override
    public void setConf(NeuralNetConfiguration conf) {
        throw unsupported("setConf(...)");
    }

    @Override
    public ConvexOptimizer getOptimizer() {
        throw unsupported("getOptimizer()");
    }

    @Override
    public INDArray getParam(String param) {
        throw unsupported("getParam(...)");
    }

    @Override
    public Map<String, INDArray> paramTable() {
        throw unsupported("paramTable()");
    }

    @Override
    public Map<String, INDArray> paramTable(boolean backpropParamsOnly) {
        throw unsupported("paramTable(boolean)");
    }

    @Override
    public void setParamTable(Map<String, INDArray> paramTable) {
        throw unsupported("setParamTable(...)");
    }

    @Override
    public void setParam(String key, INDArray val) {
        throw unsupported("setParam(...)");
    }

    @Override
    public void clear() {
        throw unsupported("clear()");
    }

    @Override
    public void applyConstraints(int iteration, int epoch) {
        throw unsupported("applyConstraints(...)");
    }

    @Override
    public void close() {
        throw unsupported("close()");
    }
}
