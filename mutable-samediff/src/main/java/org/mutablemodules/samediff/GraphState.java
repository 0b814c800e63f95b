package org.mutablemodules.samediff;

import com.google.common.collect.MapMaker;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * What this library knows about one SameDiff instance beyond its structure: the converted parameters (with their
 * histories) and the shapes of the variables it created.
 *
 * <p>Held in a weak map keyed by the SameDiff instance, and holding no reference to it, so that the state lives
 * exactly as long as the graph it describes. The public view ({@link MutableGraph}) is cached weakly too: a view the
 * user dropped is rebuilt over the same state.
 */
final class GraphState {

    // Identity keys: SameDiff's hashCode changes with its structure, which this library edits.
    private static final Map<SameDiff, GraphState> STATES = new MapMaker().weakKeys().makeMap();

    final Map<String, ParameterRecord> parameters = new LinkedHashMap<>();
    final Map<String, long[]> knownShapes = new HashMap<>();
    WeakReference<MutableGraph> view = new WeakReference<>(null);
    /**
     * Serialises changes of the graph's structure (write lock) against computations through {@link MutableGraph}'s
     * {@code output} and {@code gradients} (read lock): SameDiff's structures are plain collections, so a computation
     * that walks them while a mutation rewires them fails or mixes the two graphs.
     */
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The variables whose gradients were asked for through {@link MutableGraph#gradients}, in the order asked. */
    final Set<String> gradientRequests = new LinkedHashSet<>();
    /** A trainer's state loaded with the graph, taken over by the next trainer built with the same updater. */
    TrainerState savedTrainer;
    /** Parameters renamed to their initial value when they got their slot: name -> initial value's name. */
    final Map<String, String> renamedToInitial = new HashMap<>();
    /** Whether computations check their inputs and results for NaN and infinite values. */
    volatile boolean checkFinite;

    private GraphState() {
    }

    static GraphState of(SameDiff sd) {
        return STATES.computeIfAbsent(sd, k -> new GraphState());
    }

    /** The parameter whose initial value is the variable {@code name}, or null. */
    ParameterRecord ownerOfInitial(String name) {
        for (ParameterRecord r : parameters.values()) {
            if (name.equals(r.initialName)) {
                return r;
            }
        }
        return null;
    }
}
