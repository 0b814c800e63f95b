package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.List;

/**
 * What produced a parameter's value, as a chain of operations around a leaf ({@code W:init}, a variable's name, a
 * fixed value). Kept as a linked chain and rendered on demand: concatenating the text at every mutation would make
 * long chains of mutations quadratic.
 */
final class History {

    private final String leaf;
    private final String op;
    private final String argument;
    private final History inner;

    private History(String leaf, String op, String argument, History inner) {
        this.leaf = leaf;
        this.op = op;
        this.argument = argument;
        this.inner = inner;
    }

    static History of(String leaf) {
        return new History(leaf, null, null, null);
    }

    /** {@code op(this, argument)}, or {@code op(this)} when {@code argument} is null. */
    History then(String operation, String operationArgument) {
        return new History(null, operation, operationArgument, this);
    }

    /** Writes the chain into {@code p} under {@code prefix}, as {@link #read} reads it back. */
    void write(java.util.Properties p, String prefix) {
        List<History> chain = new ArrayList<>();
        History h = this;
        while (h.inner != null) {
            chain.add(h);
            h = h.inner;
        }
        p.setProperty(prefix + "leaf", h.leaf);
        p.setProperty(prefix + "steps", String.valueOf(chain.size()));
        for (int i = chain.size() - 1, j = 0; i >= 0; i--, j++) {
            p.setProperty(prefix + j + ".op", chain.get(i).op);
            if (chain.get(i).argument != null) {
                p.setProperty(prefix + j + ".argument", chain.get(i).argument);
            }
        }
    }

    /** The chain {@link #write} wrote under {@code prefix}, or null if it is not there. */
    static History read(java.util.Properties p, String prefix) {
        String leaf = p.getProperty(prefix + "leaf");
        String steps = p.getProperty(prefix + "steps");
        if (leaf == null || steps == null) {
            return null;
        }
        History h = of(leaf);
        for (int j = 0, n = Integer.parseInt(steps); j < n; j++) {
            String op = p.getProperty(prefix + j + ".op");
            if (op == null) {
                return null;
            }
            h = h.then(op, p.getProperty(prefix + j + ".argument"));
        }
        return h;
    }

    /** Renders the chain, e.g. {@code add(mul(W:init, 0.0), 69.0)}; iterative, so any length renders. */
    @Override
    public String toString() {
        List<History> chain = new ArrayList<>();
        History h = this;
        while (h.inner != null) {
            chain.add(h);
            h = h.inner;
        }
        StringBuilder sb = new StringBuilder();
        for (History step : chain) {
            sb.append(step.op).append('(');
        }
        sb.append(h.leaf);
        for (int i = chain.size() - 1; i >= 0; i--) {
            History step = chain.get(i);
            if (step.argument != null) {
                sb.append(", ").append(step.argument);
            }
            sb.append(')');
        }
        return sb.toString();
    }
}
