/**
 * Mutable SameDiff graphs: assignment and in-place modification of a graph's trainable parameters that stay
 * differentiable.
 *
 * <p>The public API is four types: {@link org.mutablemodules.samediff.MutableGraph} (the transformation and the
 * view of a converted graph), {@link org.mutablemodules.samediff.MutableParameter} (one parameter and its mutations),
 * {@link org.mutablemodules.samediff.FlatSplit} (cutting a flat tensor into parameter-shaped pieces with a
 * gradient that is right in ND4J 1.0.0-M2.1) and {@link org.mutablemodules.samediff.GraphTrainer} (a training loop
 * that keeps its state across steps, returns the real losses and prints nothing). Everything else here is
 * package-private machinery: graph surgery, shape inference, bookkeeping and error messages.
 */
package org.mutablemodules.samediff;
