package org.mutablemodules.samediff.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A zip file of named entries with a manifest that names the format, its version and each entry's SHA-256: the
 * container of {@link org.mutablemodules.samediff.MutableGraph#save(java.io.OutputStream)} and of the DL4J adapter's
 * saved networks. Reading checks everything (zip CRCs,
 * the manifest, every digest) before it returns, so a truncated, corrupted or foreign file is refused before anything
 * is built from it. The bytes written depend on the entries only, not on when they are written (no times, no date
 * comments): the same graph saved twice gives the same file, whose digest can name it (the Spark adapter keeps a
 * network loaded by its file's digest).
 */
public final class Archive {

    private static final String MANIFEST = "manifest.properties";
    /** Every entry's time: the earliest a zip file's own time field holds, the same in every time zone. */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    private final String format;
    private final int version;
    private final Map<String, byte[]> entries;

    private Archive(String format, int version, Map<String, byte[]> entries) {
        this.format = format;
        this.version = version;
        this.entries = entries;
    }

    /**
     * An empty archive of the given format.
     *
     * @param format  the format's name, checked on reading
     * @param version the format's version, checked on reading
     * @return a new archive
     */
    public static Archive create(String format, int version) {
        return new Archive(format, version, new LinkedHashMap<>());
    }

    /**
     * Adds (or replaces) an entry.
     *
     * @param name  the entry's name
     * @param bytes its content
     * @return this archive
     */
    public Archive put(String name, byte[] bytes) {
        entries.put(name, bytes.clone());
        return this;
    }

    /**
     * Adds (or replaces) an entry holding properties.
     *
     * @param name       the entry's name
     * @param properties its content
     * @return this archive
     */
    public Archive put(String name, Properties properties) {
        return put(name, text(properties));
    }

    /**
     * Properties as {@link Properties#store} writes them, without its comment of the date of writing and in the order
     * of their lines: the same properties give the same bytes.
     */
    private static byte[] text(Properties properties) {
        StringWriter w = new StringWriter();
        try {
            properties.store(w, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // store escapes line breaks inside keys and values: one property per line
        String lines = w.toString().lines().filter(l -> !l.startsWith("#")).sorted()
                .collect(Collectors.joining("\n", "", "\n"));
        return lines.getBytes(StandardCharsets.UTF_8);
    }

    /** A zip entry without the time of writing. */
    private static ZipEntry entry(String name) {
        ZipEntry e = new ZipEntry(name);
        e.setTimeLocal(ENTRY_TIME);
        return e;
    }

    /**
     * An entry's content.
     *
     * @param name the entry's name
     * @return a copy of its bytes
     * @throws IOException if the archive has no such entry
     */
    public byte[] bytes(String name) throws IOException {
        byte[] b = entries.get(name);
        if (b == null) {
            throw new IOException("The file has no entry \"" + name + "\": it is incomplete or not a " + format
                    + " file.");
        }
        return b.clone();
    }

    /**
     * An entry's content as properties.
     *
     * @param name the entry's name
     * @return the properties
     * @throws IOException if the archive has no such entry
     */
    public Properties properties(String name) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(new String(bytes(name), StandardCharsets.UTF_8)));
        return p;
    }

    /**
     * Writes the archive; the stream is not closed.
     *
     * @param out where to write
     * @throws IOException if writing fails
     */
    public void write(OutputStream out) throws IOException {
        Properties manifest = new Properties();
        manifest.setProperty("format", format);
        manifest.setProperty("version", String.valueOf(version));
        entries.forEach((name, bytes) -> manifest.setProperty("sha256." + name, sha256(bytes)));
        ZipOutputStream zip = new ZipOutputStream(out);
        zip.putNextEntry(entry(MANIFEST));
        zip.write(text(manifest));
        zip.closeEntry();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            zip.putNextEntry(entry(e.getKey()));
            zip.write(e.getValue());
            zip.closeEntry();
        }
        zip.finish();
        zip.flush();
    }

    /** Writes a whole file's content to a stream. */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the content.
         *
         * @param out where to write; not to be closed
         * @throws IOException if writing fails
         */
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code file} whole or not at all: to a temporary file beside it first, then moved into place, so an
     * existing file is never left half-written.
     *
     * @param file    the file to write (replaced if it exists)
     * @param content what to write
     * @throws IOException if writing fails; the temporary file is removed
     */
    public static void writeAtomically(Path file, Content content) throws IOException {
        Path temporary = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(),
                ".partial");
        try {
            try (OutputStream out = Files.newOutputStream(temporary)) {
                content.writeTo(out);
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * Reads and checks an archive of the given format: every entry the manifest lists is present with its digest,
     * and the format and version match.
     *
     * @param in      the stream, read to its end and not closed
     * @param format  the expected format
     * @param version the version this code reads
     * @return the archive
     * @throws IOException if the stream is not such an archive, is truncated or corrupted, or has another version
     */
    public static Archive read(InputStream in, String format, int version) throws IOException {
        Map<String, byte[]> read = new LinkedHashMap<>();
        byte[] all = in.readAllBytes();
        if (!endsWithZipDirectory(all)) {
            throw new IOException("Cannot read the file as a " + format + " file: it is truncated or is not a "
                    + format + " file (no zip directory at its end).");
        }
        try {
            ZipInputStream zip = new ZipInputStream(new java.io.ByteArrayInputStream(all));
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                ByteArrayOutputStream content = new ByteArrayOutputStream();
                zip.transferTo(content);
                read.put(e.getName(), content.toByteArray());
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("Cannot read the file as a " + format + " file: it is truncated or corrupted ("
                    + e.getMessage() + ").", e);
        }
        byte[] manifestBytes = read.remove(MANIFEST);
        if (manifestBytes == null) {
            throw new IOException("The file is not a " + format + " file (or is truncated): it has no manifest.");
        }
        Properties manifest = new Properties();
        manifest.load(new StringReader(new String(manifestBytes, StandardCharsets.UTF_8)));
        if (!format.equals(manifest.getProperty("format"))) {
            throw new IOException("The file is a \"" + manifest.getProperty("format") + "\" file, not a " + format
                    + " file.");
        }
        if (!String.valueOf(version).equals(manifest.getProperty("version"))) {
            throw new IOException("The file has version " + manifest.getProperty("version") + " of the " + format
                    + " format; this library reads version " + version + ".");
        }
        for (String key : manifest.stringPropertyNames()) {
            if (!key.startsWith("sha256.")) {
                continue;
            }
            String name = key.substring("sha256.".length());
            byte[] bytes = read.get(name);
            if (bytes == null) {
                throw new IOException("The file is incomplete: its entry \"" + name + "\" is missing.");
            }
            if (!sha256(bytes).equals(manifest.getProperty(key))) {
                throw new IOException("The file is corrupted: the content of \"" + name
                        + "\" does not match its checksum.");
            }
        }
        return new Archive(format, version, read);
    }

    /** The end-of-central-directory record that {@link #write} leaves as the last 22 bytes (no zip comment). */
    private static boolean endsWithZipDirectory(byte[] bytes) {
        int at = bytes.length - 22;
        return at >= 0 && bytes[at] == 0x50 && bytes[at + 1] == 0x4b && bytes[at + 2] == 0x05 && bytes[at + 3] == 0x06;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every Java platform has SHA-256", e);
        }
    }
}
