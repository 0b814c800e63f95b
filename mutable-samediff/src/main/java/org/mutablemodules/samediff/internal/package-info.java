/**
 * Machinery shared with the adapter modules (the saved-file container); not part of the public API, and it may change
 * without notice.
 */
package org.mutablemodules.samediff.internal;
