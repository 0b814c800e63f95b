package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The core prints nothing on standard output: conversion, mutation, outputs, gradients (building SameDiff's gradient
 * function, whose per-op lines ND4J prints, included), training steps, saving and loading.
 */
class StandardOutputTest {

    /** Runs {@code call} with standard output captured; @return what it printed. */
    static String printedBy(Runnable call) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            call.run();
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void publicCallsPrintNothing() {
        SameDiff sd = Fixtures.mlp();
        Map<String, INDArray> feed = Fixtures.mlpInputs();
        MutableGraph[] g = new MutableGraph[1];
        assertEquals("", printedBy(() -> g[0] = MutableGraph.of(sd)));
        assertEquals("", printedBy(() -> g[0].param("W1").muli(0.5).addi(0.1)));
        assertEquals("", printedBy(() -> g[0].output(feed, "out")));
        assertEquals("", printedBy(() -> g[0].gradients(feed, g[0].param("W1").initial().name())));
        GraphTrainer[] trainer = new GraphTrainer[1];
        assertEquals("", printedBy(() -> trainer[0] = GraphTrainer.builder(g[0]).updater(new Adam(0.01))
                .logEvery(1).build()));
        assertEquals("", printedBy(() -> trainer[0].fit(() -> feed, 3)));
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        assertEquals("", printedBy(() -> {
            try {
                g[0].save(saved, trainer[0]);
                MutableGraph loaded = MutableGraph.load(new ByteArrayInputStream(saved.toByteArray()));
                GraphTrainer.builder(loaded).updater(new Adam(0.01)).build().step(feed);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }));
    }
}
