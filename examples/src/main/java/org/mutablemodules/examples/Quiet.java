package org.mutablemodules.examples;

import java.io.OutputStream;
import java.io.PrintStream;

/** Silences standard output for a moment: ND4J prints one line per op while it builds a gradient function. */
final class Quiet {

    private Quiet() {
    }

    static void run(Runnable body) {
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            body.run();
        } finally {
            System.setOut(stdout);
        }
    }
}
