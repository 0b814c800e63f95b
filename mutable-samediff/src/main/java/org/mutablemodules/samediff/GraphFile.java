package org.mutablemodules.samediff;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.mutablemodules.samediff.internal.Archive;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The saved form of a {@link MutableGraph}: SameDiff's own FlatBuffers file (structure, arrays and {@code sd.fit}'s
 * updater state), what this library knows beyond it (which variables are mutable parameters, their initial values,
 * histories and frozen state) and the state of the graph's {@link GraphTrainer} if it has one, in an {@link Archive}
 * whose checksums catch truncated and corrupted files.
 */
final class GraphFile {

    static final String FORMAT = "mutable-modules graph";
    static final int VERSION = 1;
    private static final String GRAPH = "graph.fb";
    private static final String PARAMETERS = "parameters.properties";

    private GraphFile() {
    }

    static Archive write(SameDiff sd, GraphState state, GraphTrainer trainer) {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        Properties p = new Properties();
        Map<String, DifferentialFunction> replaced = LstmLayerStandIns.swapIn(sd, p);
        try {
            sd.save(graph, true);
        } finally {
            LstmLayerStandIns.restore(sd, replaced);
        }
        p.setProperty("count", String.valueOf(state.parameters.size()));
        p.setProperty("checkFinite", String.valueOf(state.checkFinite));
        // SameDiff's file writes a placeholder of unknown shape as a scalar's; the names restore it
        p.setProperty("anyShapePlaceholders", sd.variables().stream()
                .filter(v -> v.getVariableType() == VariableType.PLACEHOLDER && v.placeholderShape() == null)
                .map(SDVariable::name).collect(Collectors.joining(",")));
        int i = 0;
        for (ParameterRecord r : state.parameters.values()) {
            String prefix = "parameter." + i++ + ".";
            p.setProperty(prefix + "name", r.name);
            if (!r.dormant()) {
                p.setProperty(prefix + "initial", r.initialName);
                p.setProperty(prefix + "slotOp", r.slotOp);
            }
            p.setProperty(prefix + "shape", Arrays.stream(r.shape).mapToObj(Long::toString)
                    .collect(Collectors.joining(",")));
            p.setProperty(prefix + "dataType", r.dataType.name());
            p.setProperty(prefix + "pinned", String.valueOf(r.initialPinned));
            p.setProperty(prefix + "mutations", String.valueOf(r.mutations));
            r.history.write(p, prefix + "history.");
        }
        Archive archive = Archive.create(FORMAT, VERSION).put(GRAPH, graph.toByteArray()).put(PARAMETERS, p);
        if (trainer != null) {
            trainer.state().writeTo(archive);
        }
        return archive;
    }

    /** Builds the graph and its state; nothing outside the new SameDiff instance is touched, so failure leaves nothing. */
    static MutableGraph read(Archive archive) throws IOException {
        BackendCheck.checkOnce();
        Properties p = archive.properties(PARAMETERS);
        SameDiff sd;
        try {
            sd = SameDiff.load(new ByteArrayInputStream(archive.bytes(GRAPH)), true);
        } catch (RuntimeException e) {
            throw new IOException("The graph in the file cannot be read by SameDiff: " + e.getMessage(), e);
        }
        GraphState state;
        try {
            LstmLayerStandIns.revive(sd, p);
            state = GraphState.of(sd);
            int count = Integer.parseInt(required(p, "count"));
            for (int i = 0; i < count; i++) {
                ParameterRecord r = record(sd, p, "parameter." + i + ".");
                state.parameters.put(r.name, r);
                state.knownShapes.put(r.name, r.shape.clone());
            }
            state.checkFinite = Boolean.parseBoolean(p.getProperty("checkFinite", "false"));
            for (String name : p.getProperty("anyShapePlaceholders", "").split(",")) {
                if (!name.isEmpty() && sd.hasVariable(name)) {
                    sd.getVariable(name).setShape((long[]) null);
                }
            }
            state.savedTrainer = TrainerState.readFrom(archive);
        } catch (NumberFormatException e) {
            throw new IOException("The file's parameter list is damaged: " + e.getMessage(), e);
        }
        return MutableGraph.of(sd, state);
    }

    private static ParameterRecord record(SameDiff sd, Properties p, String prefix) throws IOException {
        String name = required(p, prefix + "name");
        String initial = p.getProperty(prefix + "initial");
        String slotOp = p.getProperty(prefix + "slotOp");
        long[] shape = required(p, prefix + "shape").isEmpty() ? new long[0]
                : Arrays.stream(required(p, prefix + "shape").split(",")).mapToLong(Long::parseLong).toArray();
        DataType type;
        try {
            type = DataType.valueOf(required(p, prefix + "dataType"));
        } catch (IllegalArgumentException e) {
            throw new IOException("Parameter \"" + name + "\" has an unknown data type in the file.", e);
        }
        Variable v = sd.getVariables().get(name);
        if (slotOp == null || initial == null) {
            if (v == null || v.getOutputOfOp() != null) {
                throw new IOException("The file is inconsistent: parameter \"" + name + "\" is missing from the saved "
                        + "graph or computed by an op.");
            }
        } else if (v == null || sd.getOps().get(slotOp) == null || !slotOp.equals(v.getOutputOfOp())
                || !sd.hasVariable(initial)) {
            throw new IOException("The file is inconsistent: parameter \"" + name + "\", its initial value \""
                    + initial + "\" or the op \"" + slotOp + "\" that feeds it is missing from the saved graph.");
        }
        History history = History.read(p, prefix + "history.");
        if (history == null) {
            throw new IOException("The file is inconsistent: the history of parameter \"" + name + "\" is damaged.");
        }
        ParameterRecord r = new ParameterRecord(name, initial, slotOp, shape, type, history);
        r.initialPinned = Boolean.parseBoolean(required(p, prefix + "pinned"));
        r.mutations = Integer.parseInt(required(p, prefix + "mutations"));
        return r;
    }

    private static String required(Properties p, String key) throws IOException {
        String value = p.getProperty(key);
        if (value == null) {
            throw new IOException("The file's parameter list is damaged: \"" + key + "\" is missing.");
        }
        return value;
    }
}
