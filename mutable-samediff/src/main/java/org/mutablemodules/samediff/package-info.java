/**
 * Mutable SameDiff graphs: assignment and in-place modification of a graph's trainable parameters that stay
 * differentiable.
 *
 * <p>The public API: {@link org.mutablemodules.samediff.MutableGraph} (the transformation and the view of a
 * converted graph, its saving and loading), {@link org.mutablemodules.samediff.MutableParameter} (one parameter and
 * its mutations), {@link org.mutablemodules.samediff.FlatSplit} (cutting a flat tensor into parameter-shaped pieces
 * with a gradient that is right in ND4J 1.0.0-M2.1), {@link org.mutablemodules.samediff.GraphTrainer} (the one
 * training loop: state kept across steps, real losses, nothing printed),
 * {@link org.mutablemodules.samediff.NativeThreads} (ND4J's native thread pools) and
 * {@link org.mutablemodules.samediff.BackendCheck} (whether the ND4J backend can run here). Everything else here is
 * package-private machinery: graph surgery, shape inference, updater states, bookkeeping and error messages (one
 * {@code Messages} class); what the adapter modules share with the core is in
 * {@code org.mutablemodules.samediff.internal}.
 */
package org.mutablemodules.samediff;
