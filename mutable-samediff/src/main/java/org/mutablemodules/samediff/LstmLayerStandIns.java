package org.mutablemodules.samediff;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.LSTMLayer;

/**
 * Writes {@code lstmLayer} ops so that SameDiff can read them back. SameDiff 1.0.0-M2.1 cannot: its loader configures
 * each op before recording the op's inputs, and {@code LSTMLayer.configureWithSameDiff} reads them (a
 * NullPointerException on every file with an LSTM of open length), and its reading of the layer's configuration from
 * the file's properties mixes fields up. So the file holds, in each {@code lstmLayer}'s place, a stand-in op
 * ({@code identity_n}, which loads whatever its arguments) of the same name, inputs and outputs, and the layer's
 * arguments and configuration go to the archive's properties; reading puts an {@code lstmLayer} built from them back,
 * configured once its inputs are known, as SameDiff's loader would have.
 */
final class LstmLayerStandIns {

    private static final String PREFIX = "lstmLayer.";
    private static final String STAND_IN = "identity_n";

    private LstmLayerStandIns() {
    }

    /**
     * Puts a stand-in in place of each {@code lstmLayer} op of {@code sd} and records the ops in {@code p}; returns the
     * ops replaced, for {@link #restore}. The graph must be restored before anything else uses it.
     *
     * @throws UnsupportedOperationException if an {@code lstmLayer} takes an initial state or sequence lengths,
     *                                       which the op cannot be rebuilt with (its fields for them have no
     *                                       setters); nothing is replaced then
     */
    static Map<String, DifferentialFunction> swapIn(SameDiff sd, Properties p) {
        Map<String, LSTMLayer> layers = new LinkedHashMap<>();
        for (SameDiffOp op : sd.getOps().values()) {
            if (op.getOp() instanceof LSTMLayer layer) {
                boolean[] flags = layer.bArgs();
                if (flags.length < 4 || flags[1] || flags[2] || flags[3]) {
                    throw new UnsupportedOperationException("The lstmLayer op \"" + op.getName() + "\" takes sequence "
                            + "lengths or an initial state: SameDiff 1.0.0-M2.1 cannot read such an op back from a "
                            + "file, and this library cannot rebuild it.");
                }
                layers.put(op.getName(), layer);
            }
        }
        Map<String, DifferentialFunction> replaced = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, LSTMLayer> e : layers.entrySet()) {
            LSTMLayer layer = e.getValue();
            String prefix = PREFIX + i++ + ".";
            p.setProperty(prefix + "name", e.getKey());
            p.setProperty(prefix + "iArgs", Arrays.stream(layer.iArgs()).mapToObj(Long::toString)
                    .collect(Collectors.joining(",")));
            p.setProperty(prefix + "tArgs", Arrays.stream(layer.tArgs()).mapToObj(Double::toString)
                    .collect(Collectors.joining(",")));
            p.setProperty(prefix + "bArgs", booleans(layer.bArgs()));
            layer.getConfiguration().toProperties(true, true).forEach((k, v) ->
                    p.setProperty(prefix + "config." + k, String.valueOf(v)));
            DynamicCustomOp standIn = DynamicCustomOp.builder(STAND_IN).build();
            standIn.setSameDiff(sd);
            standIn.setOwnName(e.getKey());
            sd.getOps().get(e.getKey()).setOp(standIn);
            replaced.put(e.getKey(), layer);
        }
        p.setProperty(PREFIX + "count", String.valueOf(layers.size()));
        return replaced;
    }

    /** Puts the ops {@link #swapIn} replaced back. */
    static void restore(SameDiff sd, Map<String, DifferentialFunction> replaced) {
        replaced.forEach((name, op) -> sd.getOps().get(name).setOp(op));
    }

    /** Replaces the stand-ins of a graph read from a file by the {@code lstmLayer} ops recorded in {@code p}. */
    static void revive(SameDiff sd, Properties p) throws IOException {
        int count = Integer.parseInt(p.getProperty(PREFIX + "count", "0"));
        for (int i = 0; i < count; i++) {
            String prefix = PREFIX + i + ".";
            String name = p.getProperty(prefix + "name");
            SameDiffOp op = name == null ? null : sd.getOps().get(name);
            if (op == null || !STAND_IN.equals(op.getOp().opName())) {
                throw new IOException("The file is inconsistent: the lstmLayer op \"" + name + "\" is missing from "
                        + "the saved graph.");
            }
            LSTMLayer layer = new LSTMLayer();
            layer.setOwnName(name);
            layer.addIArgument(Arrays.stream(p.getProperty(prefix + "iArgs", "").split(",")).filter(s -> !s.isEmpty())
                    .mapToLong(Long::parseLong).toArray());
            layer.addTArgument(Arrays.stream(p.getProperty(prefix + "tArgs", "").split(",")).filter(s -> !s.isEmpty())
                    .mapToDouble(Double::parseDouble).toArray());
            List<String> flags = List.of(p.getProperty(prefix + "bArgs", "").split(","));
            boolean[] bArgs = new boolean[flags.size()];
            for (int k = 0; k < bArgs.length; k++) {
                bArgs[k] = Boolean.parseBoolean(flags.get(k));
            }
            layer.addBArgument(bArgs);
            Map<String, Object> config = new LinkedHashMap<>();
            String configPrefix = prefix + "config.";
            for (String key : p.stringPropertyNames()) {
                if (key.startsWith(configPrefix)) {
                    String field = key.substring(configPrefix.length());
                    String value = p.getProperty(key);
                    config.put(field, switch (field) {
                        case "retFullSequence", "retLastH", "retLastC" -> Boolean.valueOf(value);
                        case "cellClip" -> Double.valueOf(value);
                        default -> value;
                    });
                }
            }
            try {
                layer.setPropertiesForFunction(config);
            } catch (RuntimeException e) {
                throw new IOException("The file's configuration of the lstmLayer op \"" + name + "\" is damaged: "
                        + e.getMessage(), e);
            }
            layer.setSameDiff(sd);
            op.setOp(layer);
            // the inputs are recorded now: the weights are found as SameDiff's loader meant to
            layer.configureWithSameDiff(sd);
        }
    }

    private static String booleans(boolean[] values) {
        StringBuilder s = new StringBuilder();
        for (int k = 0; k < values.length; k++) {
            s.append(k == 0 ? "" : ",").append(values[k]);
        }
        return s.toString();
    }
}
