package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.internal.Archive;

/**
 * The file format of a {@link MutableNetwork}: one checksummed archive ({@link Archive}) holding the graph as
 * {@link MutableGraph#save(OutputStream, GraphTrainer)} writes it, the source network's kind and DL4J configuration,
 * and the names that tie the two together (the conversion's variable names and the layer names).
 */
final class NetworkFile {

    private static final String FORMAT = "mutable-modules network";
    private static final int VERSION = 1;

    private NetworkFile() {
    }

    static void write(OutputStream out, NetworkParts network, GraphTrainer trainer) throws IOException {
        ByteArrayOutputStream graphBytes = new ByteArrayOutputStream();
        network.graph().save(graphBytes, trainer);
        Properties names = new Properties();
        network.converted().store(names);
        names.setProperty("kind", network.source().kind());
        List<String> layers = new ArrayList<>(network.layerNames().keySet());
        names.setProperty("layerNames.size", String.valueOf(layers.size()));
        for (int i = 0; i < layers.size(); i++) {
            names.setProperty("layerNames." + i + ".name", layers.get(i));
            names.setProperty("layerNames." + i + ".vertex", network.layerNames().get(layers.get(i)));
        }
        Archive.create(FORMAT, VERSION)
                .put("graph.mmg", graphBytes.toByteArray())
                .put("network.properties", names)
                .put("configuration.json", network.source().toJson().getBytes(StandardCharsets.UTF_8))
                .write(out);
    }

    static NetworkParts read(InputStream in) throws IOException {
        Archive archive = Archive.read(in, FORMAT, VERSION);
        Properties names = archive.properties("network.properties");
        SourceNetwork source = SourceNetwork.fromJson(names.getProperty("kind"),
                new String(archive.bytes("configuration.json"), StandardCharsets.UTF_8));
        Map<String, String> layerNames = new LinkedHashMap<>();
        try {
            for (int i = 0, n = Integer.parseInt(names.getProperty("layerNames.size", "")); i < n; i++) {
                layerNames.put(names.getProperty("layerNames." + i + ".name"),
                        names.getProperty("layerNames." + i + ".vertex"));
            }
        } catch (NumberFormatException e) {
            throw new IOException(format(NetworkMessages.DAMAGED_FILE, e.getMessage()), e);
        }
        MutableGraph graph = MutableGraph.load(new ByteArrayInputStream(archive.bytes("graph.mmg")));
        ConvertedNetwork converted = ConvertedNetwork.restore(graph.sameDiff(), names);
        for (String variable : converted.parameterVariables().values()) {
            if (!graph.isMutable(variable)) {
                throw new IOException(format(NetworkMessages.NOT_MUTABLE_IN_FILE, variable));
            }
        }
        return new NetworkParts(source, Collections.unmodifiableMap(layerNames), graph, converted);
    }
}
