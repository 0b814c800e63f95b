package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.autodiff.samediff.ArrayHolder;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Holds a converted graph's parameter and constant arrays once. SameDiff's default holder ({@code
 * ThreadSafeArrayHolder}) keeps a second, "delayed" copy of every array for replicating it to other devices, which on a
 * single device only doubles the memory of a converted network (VGG16: 528 MiB more). ND4J's {@code
 * SingleThreadArrayHolder} keeps one copy but does not behave like the default: it stores views and replaces arrays.
 * This holder keeps the default's semantics, which SameDiff relies on: a view is copied, and setting an array of the
 * same shape and type again copies the values into the array already held, so that every graph and session sharing it
 * (SameDiff's gradient function keeps a reference) sees the new values. Its map is safe for concurrent use.
 */
final class SingleCopyArrayHolder implements ArrayHolder {

    private final Map<String, INDArray> arrays = new ConcurrentHashMap<>();

    @Override
    public boolean hasArray(String name) {
        return arrays.containsKey(Objects.requireNonNull(name, "name"));
    }

    @Override
    public INDArray getArray(String name) {
        return arrays.get(Objects.requireNonNull(name, "name"));
    }

    @Override
    public void setArray(String name, INDArray array) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(array, "array");
        INDArray held = arrays.get(name);
        if (held != null && held != array && held.dataType() == array.dataType()
                && Arrays.equals(held.shape(), array.shape())) {
            held.assign(array);
        } else if (held != array) {
            arrays.put(name, array.isView() ? array.dup() : array);
        }
    }

    @Override
    public INDArray removeArray(String name) {
        return arrays.remove(Objects.requireNonNull(name, "name"));
    }

    @Override
    public int size() {
        return arrays.size();
    }

    @Override
    public void initFrom(ArrayHolder other) {
        arrays.clear();
        for (String name : other.arrayNames()) {
            arrays.put(name, other.getArray(name));
        }
    }

    @Override
    public Collection<String> arrayNames() {
        return Collections.unmodifiableCollection(arrays.keySet());
    }

    @Override
    public void rename(String from, String to) {
        INDArray array = arrays.remove(Objects.requireNonNull(from, "from"));
        if (array != null) {
            arrays.put(Objects.requireNonNull(to, "to"), array);
        }
    }
}
