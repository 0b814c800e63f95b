package org.mutablemodules.examples;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The command line of an example: options {@code --name value}, flags {@code --name}, nothing else. */
final class ExampleArguments {

    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    private ExampleArguments() {
    }

    /**
     * Reads {@code args}.
     *
     * @param options the options that take a value ({@code --steps})
     * @param flags   the options that take none ({@code --require-cuda})
     * @param usage   the usage line the message of a bad argument ends with
     * @throws IllegalArgumentException for an argument that is neither, or an option without its value
     */
    static ExampleArguments parse(String[] args, List<String> options, List<String> flags, String usage) {
        ExampleArguments parsed = new ExampleArguments();
        for (int i = 0; i < args.length; i++) {
            if (options.contains(args[i]) && i + 1 < args.length) {
                parsed.values.put(args[i], args[++i]);
            } else if (flags.contains(args[i])) {
                parsed.flags.add(args[i]);
            } else {
                throw new IllegalArgumentException("Unknown argument \"" + args[i] + "\"; usage: " + usage);
            }
        }
        return parsed;
    }

    /** {@return the option's value as an integer, or {@code fallback} if not given} */
    int integer(String option, int fallback) {
        return values.containsKey(option) ? Integer.parseInt(values.get(option)) : fallback;
    }

    /** {@return the option's value as a path, or {@code fallback} if not given} */
    Path path(String option, Path fallback) {
        return values.containsKey(option) ? Path.of(values.get(option)) : fallback;
    }

    /** {@return true when the flag was given} */
    boolean flag(String flag) {
        return flags.contains(flag);
    }
}
