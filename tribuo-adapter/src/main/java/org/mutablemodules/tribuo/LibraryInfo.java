package org.mutablemodules.tribuo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/** This library's version (filtered into a resource by Maven) and the ND4J backend in use, for provenance. */
final class LibraryInfo {

    static final String VERSION = readVersion();

    private LibraryInfo() {
    }

    /** The ND4J backend class in use, e.g. {@code org.nd4j.linalg.cpu.nativecpu.CpuBackend}. */
    static String backend() {
        return Nd4j.getBackend().getClass().getName();
    }

    private static String readVersion() {
        try (InputStream in = LibraryInfo.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
