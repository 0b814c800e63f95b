package org.mutablemodules.dl4j;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.ConvexOptimizer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What DL4J's {@link TrainingListener}s see of a {@link MutableNetwork} while it fits: a {@link Model} that answers
 * what listeners read (the last step's score, its first input and batch size, the number of parameters) and refuses
 * the rest by name, since the network is a SameDiff graph, not a DL4J model.
 */
final class ListenerModel implements Model {

    private final long numParams;
    private double score = Double.NaN;
    private INDArray input;

    ListenerModel(long numParams) {
        this.numParams = numParams;
    }

    /** Records a step: its score (with regularisation) and its first input array. */
    void stepDone(double stepScore, INDArray firstInput) {
        this.score = stepScore;
        this.input = firstInput;
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
