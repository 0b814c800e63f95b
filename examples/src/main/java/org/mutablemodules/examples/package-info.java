/** Runnable examples of the library; {@link org.mutablemodules.examples.HypernetworkDemo} is the main job. */
package org.mutablemodules.examples;
