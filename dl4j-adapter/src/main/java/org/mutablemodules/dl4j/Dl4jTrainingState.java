package org.mutablemodules.dl4j;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;

/**
 * A DL4J network's training state: its iteration and epoch counts and each parameter's updater state (Adam's moments,
 * say), by network key, each array of the parameter's shape. Read from a network when it is converted, so that
 * {@code fit} goes on where DL4J's training stopped; written into a baked network, so that DL4J's {@code fit} goes on
 * where {@code fit} stopped.
 *
 * <p>DL4J keeps the state of a block of parameters that share an updater configuration in one flat view (for Adam,
 * M over the whole block, then V), each parameter a segment of it in the order of the parameter's own view in the
 * network's parameter table ('f' for most weights); a segment is reshaped to the parameter's shape in that order.
 *
 * @param iteration     the iteration count
 * @param epoch         the epoch count
 * @param updaterStates each parameter's updater arrays by ND4J's names, by network key; empty where DL4J has none
 */
record Dl4jTrainingState(long iteration, long epoch, Map<String, Map<String, INDArray>> updaterStates) {

    /** The state of {@code net}: its counts, and its updater's arrays if the network has an updater yet. */
    static Dl4jTrainingState of(Model net) {
        Map<String, Map<String, INDArray>> states = new LinkedHashMap<>();
        BaseMultiLayerUpdater<?> updater = updater(net, false);
        Map<String, INDArray> params = net.paramTable();
        if (updater != null) {
            for (UpdaterBlock block : updater.getUpdaterBlocks()) {
                Map<String, INDArray> state = stateOf(block);
                for (UpdaterBlock.ParamState p : block.getLayersAndVariablesInBlock()) {
                    String key = key(net, p);
                    INDArray param = params.get(key);
                    if (state.isEmpty() || param == null) {
                        continue;
                    }
                    Map<String, INDArray> arrays = new LinkedHashMap<>();
                    state.forEach((name, flat) -> arrays.put(name, segment(flat, block, p)
                            .reshape(param.ordering(), param.shape()).dup()));
                    states.put(key, arrays);
                }
            }
        }
        return new Dl4jTrainingState(iterationCount(net), epochCount(net), states);
    }

    /** Writes this state into a new network of the same configuration: counts, and updater arrays where known. */
    void writeTo(Model net) {
        if (net instanceof MultiLayerNetwork m) {
            m.getLayerWiseConfigurations().setIterationCount((int) iteration);
            m.getLayerWiseConfigurations().setEpochCount((int) epoch);
        } else {
            ((ComputationGraph) net).getConfiguration().setIterationCount((int) iteration);
            ((ComputationGraph) net).getConfiguration().setEpochCount((int) epoch);
        }
        if (updaterStates.isEmpty()) {
            return;
        }
        BaseMultiLayerUpdater<?> updater = updater(net, true);
        Map<String, INDArray> params = net.paramTable();
        for (UpdaterBlock block : updater.getUpdaterBlocks()) {
            Map<String, INDArray> state = stateOf(block);
            for (UpdaterBlock.ParamState p : block.getLayersAndVariablesInBlock()) {
                String key = key(net, p);
                Map<String, INDArray> arrays = updaterStates.get(key);
                if (arrays == null || !params.containsKey(key)) {
                    continue;
                }
                char order = params.get(key).ordering();
                state.forEach((name, flat) -> {
                    INDArray ours = arrays.get(name);
                    if (ours != null) {
                        segment(flat, block, p).assign(Nd4j.toFlattened(order, ours).castTo(flat.dataType()));
                    }
                });
            }
        }
    }

    private static BaseMultiLayerUpdater<?> updater(Model net, boolean create) {
        Object updater = net instanceof MultiLayerNetwork m ? m.getUpdater(create)
                : ((ComputationGraph) net).getUpdater(create);
        return updater instanceof BaseMultiLayerUpdater<?> u ? u : null;
    }

    /** The block's state arrays, each flat over the block; empty for a stateless updater (SGD). */
    private static Map<String, INDArray> stateOf(UpdaterBlock block) {
        if (block.getUpdaterView() == null) {
            return Map.of();
        }
        GradientUpdater<?> gradientUpdater = block.getGradientUpdater();     // made on first use, as DL4J does
        Map<String, INDArray> state = gradientUpdater == null ? null : gradientUpdater.getState();
        return state == null ? Map.of() : state;
    }

    /**
     * The network key of a parameter in a block: the layer's index (in a {@code MultiLayerNetwork}) or name (in a
     * {@code ComputationGraph}), '_', the parameter's name.
     */
    private static String key(Model net, UpdaterBlock.ParamState p) {
        String layer = net instanceof MultiLayerNetwork && p.getLayer() instanceof org.deeplearning4j.nn.api.Layer l
                ? String.valueOf(l.getIndex()) : p.getLayer().getConfig().getLayerName();
        return layer + "_" + p.getParamName();
    }

    /** A parameter's segment of one of its block's flat state arrays. */
    private static INDArray segment(INDArray flat, UpdaterBlock block, UpdaterBlock.ParamState p) {
        long from = p.getParamOffsetStart() - block.getParamOffsetStart();
        long to = p.getParamOffsetEnd() - block.getParamOffsetStart();
        return flat.reshape(flat.length()).get(NDArrayIndex.interval(from, to));
    }

    private static long iterationCount(Model net) {
        return net instanceof MultiLayerNetwork m ? m.getLayerWiseConfigurations().getIterationCount()
                : ((ComputationGraph) net).getConfiguration().getIterationCount();
    }

    private static long epochCount(Model net) {
        return net instanceof MultiLayerNetwork m ? m.getLayerWiseConfigurations().getEpochCount()
                : ((ComputationGraph) net).getConfiguration().getEpochCount();
    }
}
