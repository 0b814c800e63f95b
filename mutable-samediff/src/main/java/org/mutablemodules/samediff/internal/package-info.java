/**
 * Machinery the core shares with the adapter modules, so that each exists once: the upstream walk over a graph
 * ({@link org.mutablemodules.samediff.internal.GraphWalk}), removing ops and variables and rolling back additions
 * ({@link org.mutablemodules.samediff.internal.GraphEdits}), shape inference by a dry run
 * ({@link org.mutablemodules.samediff.internal.DryRun}), the compiled execution of a graph's ops
 * ({@link org.mutablemodules.samediff.internal.ExecutionPlan}), and the saved-file container
 * ({@link org.mutablemodules.samediff.internal.Archive}). Not part of the public API: it may change without notice.
 */
package org.mutablemodules.samediff.internal;
