package org.mutablemodules.dl4j.internal;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.autodiff.samediff.ArrayHolder;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Holds a converted graph's parameter and constant arrays once. SameDiff's default holder keeps a second, "delayed"
 * copy of every array for replicating it to other devices, which on a single device only doubles the memory of a
 * converted network (VGG16: 528 MiB more). Safe for concurrent reads, like the default.
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
        arrays.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(array, "array"));
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
