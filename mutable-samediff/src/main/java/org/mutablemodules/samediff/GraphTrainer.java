package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.mutablemodules.samediff.internal.GraphWalk;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a SameDiff graph (a {@link MutableGraph}'s, or a converted DL4J network's) step by step: a small
 * replacement for {@code SameDiff.fit} that keeps its state across calls, returns the real loss of every step and
 * prints nothing.
 *
 * <pre>{@code
 * GraphTrainer trainer = GraphTrainer.builder(sd).loss("loss").updater(new Adam(1e-3)).logEvery(500).build();
 * double loss = trainer.step(Map.of("x", x, "y", y));             // one update; the loss before it
 * double[] losses = trainer.fit(() -> nextBatch(), 4000);          // 4000 updates, one feed each
 * }</pre>
 *
 * <p>Each step computes the loss and the gradients in one pass (what {@code sd.calculateGradientsAndOutputs}
 * computes, through the graph's execution plan: see {@link MutableGraph}, <i>Execution</i>), applies
 * the updater to each gradient and subtracts the result from the variable's array, as {@code SameDiff.fit} does.
 * With the same updater, N steps give the same parameters as N calls of {@code sd.fit} on the same feeds (tested in
 * DOUBLE).
 *
 * <p><b>Per-parameter settings.</b> A parameter may have its own updater ({@link Builder#updater(String, IUpdater)}),
 * regularisation ({@link Builder#regularization}) and gradient clipping ({@link Builder#clipping}); each step clips,
 * adds the L1/L2 terms to the gradient, runs the updater, then subtracts the update and the weight decay, as DL4J's
 * updater does. Converted DL4J networks train this way with their configuration's settings
 * ({@code MutableNetwork.fit}).
 *
 * <ul>
 *   <li><b>What is trained</b>: every trainable floating-point {@code VARIABLE} the loss depends on, as
 *       {@code sd.fit} trains them. After a mutation (which drops SameDiff's gradient function) the set is found
 *       again, so a parameter whose initial value was replaced stops being trained and the variables now feeding
 *       it start.</li>
 *   <li><b>State</b>: one updater state per trained variable (Adam's moments, say) and an iteration count, kept
 *       across {@link #step} and {@link #fit} calls; they belong to this trainer, not to the graph's
 *       {@code TrainingConfig}, so {@code sd.fit} and this trainer do not share them. The execution plan is
 *       compiled at the first step and reused until the graph's structure changes.</li>
 *   <li><b>Loss</b>: the value returned by {@link #step} is the loss for that feed before the update, as
 *       {@code sd.output} would compute it, plus the score of any regularisation terms (as {@code SameDiff.fit}
 *       and DL4J report it). While it trains, the trainer's loss is the graph's loss variable
 *       ({@code sd.setLossVariables}), since SameDiff differentiates that.</li>
 *   <li><b>Output</b>: ND4J prints a line per op while it builds a gradient function; the trainer drops those lines
 *       unless {@link Builder#nd4jOutput(boolean)} asks for them. Progress goes to SLF4J at INFO level every
 *       {@link Builder#logEvery(int)} steps, and to a {@link StepListener}, after every step.</li>
 * </ul>
 *
 * <p>A trainer is not thread-safe: call it from one thread. Each step holds the graph's exclusive lock, so
 * {@link MutableGraph#output} and {@link MutableGraph#gradients} in other threads (and a converted network's
 * {@code output} and {@code score}) see the parameters before or after a step, never half-updated.
 *
 * <p><b>Saving.</b> {@link MutableGraph#save(java.nio.file.Path, GraphTrainer)} saves a trainer's state (updater
 * arrays, iteration and epoch counts) with its graph; the first trainer built with the same updater on the loaded
 * graph takes it over, so training continues as if it had not stopped. {@link MutableGraph#save(java.nio.file.Path)}
 * saves the graph alone.
 *
 * <p><b>Updaters.</b> ND4J's updaters compute each step, except Adam on FLOAT and DOUBLE parameters, which the JVM
 * computes with ND4J's arithmetic (libnd4j's Adam does not vectorise its square root); the state is kept under ND4J's
 * names either way. A learning-rate schedule reads the iteration count and, for schedules of type {@code EPOCH}, the
 * epoch count that {@link #endEpoch} advances.
 */
public final class GraphTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(GraphTrainer.class);

    /** Called after every step with the iteration just done (counted from 1) and its loss. */
    @FunctionalInterface
    public interface StepListener {

        /**
         * Receives one step's result.
         *
         * @param iteration the number of steps this trainer has done, this one included
         * @param loss      the step's loss, before its update
         */
        void stepDone(long iteration, double loss);
    }

    private final SameDiff sd;
    private final String loss;
    private final IUpdater updater;
    /** Per-name settings, in the order the names were given (the earlier claims upstream variables first). */
    private final Map<String, IUpdater> updaters;
    private final Map<String, List<Regularization>> regularization;
    private final List<ClippingGroup> clipping;
    /** For each trained variable, the name whose settings it takes; absent: the defaults. Found by prepare(). */
    private Map<String, String> settingsOf = Map.of();
    private Map<String, String> regularizationOwners = Map.of();
    /** For each clipping group, the trained variables it limits. Found by prepare(). */
    private List<List<String>> clippingMembers = List.of();
    private final StepListener listener;
    private final int logEvery;
    private final boolean quiet;
    /** One updater state per trained variable, made at its first step. */
    private final Map<String, UpdaterState> states = new HashMap<>();
    private final ReentrantReadWriteLock lock;
    private final ExecutionPlans plans;
    private List<String> trained = List.of();
    private Set<String> placeholders = Set.of();
    private long iteration;
    private long epoch;
    private double windowSum;
    private int windowCount;
    private long windowStart;
    private boolean scalarChecked;
    /** The last iteration of the running {@link #fit}, for the log; -1 outside one. */
    private long total = -1;

    private GraphTrainer(Builder b, String loss) {
        this.sd = b.sd;
        this.loss = loss;
        this.updater = b.updater;
        this.updaters = b.updaters.isEmpty() ? Map.of() : new LinkedHashMap<>(b.updaters);
        this.regularization = b.regularization.isEmpty() ? Map.of() : new LinkedHashMap<>(b.regularization);
        this.clipping = List.copyOf(b.clipping);
        this.listener = b.listener;
        this.logEvery = b.logEvery;
        this.quiet = !b.nd4jOutput;
        NativeThreads.applyDefaultOnce();
        prepare(loss);
        GraphState state = GraphState.of(sd);
        this.lock = state.lock;
        this.plans = state.plans();
        iteration = b.startIteration;
        epoch = b.startEpoch;
        b.startStates.forEach((name, arrays) -> {
            String variable = trainedVariableOf(name);
            if (variable != null) {
                INDArray param = sd.getVariable(variable).getArr();
                arrays.forEach((key, array) -> {
                    if (!Arrays.equals(array.shape(), param.shape())) {
                        throw new IllegalArgumentException(Messages.format(Messages.STATE_SHAPE, key, name,
                                array.shape(), param.shape()));
                    }
                });
                states.put(variable, UpdaterState.restore(updaterOf(variable), arrays));
            }
        });
        TrainerState saved = state.savedTrainer;
        if (saved != null && saved.updaterJson.equals(updaterJson())) {
            // Training resumes where the saved graph's trainer stopped: same counts, same updater arrays.
            iteration = saved.iteration;
            epoch = saved.epoch;
            saved.states.forEach((name, arrays) -> states.put(name, UpdaterState.restore(updaterOf(name), arrays)));
            state.savedTrainer = null;
        }
    }

    /** Whether this trainer trains {@code graph}. */
    boolean trains(SameDiff graph) {
        return sd == graph;
    }

    /**
     * The state {@link MutableGraph#save(java.nio.file.Path, GraphTrainer)} saves: updater configuration, iteration
     * and epoch counts, updater arrays.
     */
    TrainerState state() {
        Map<String, Map<String, INDArray>> arrays = new LinkedHashMap<>();
        states.forEach((name, u) -> {
            Map<String, INDArray> a = u.arrays();
            if (!a.isEmpty() && sd.hasVariable(name)) {
                arrays.put(name, a);
            }
        });
        return new TrainerState(updaterJson(), iteration, epoch, arrays);
    }

    /**
     * The updaters' configuration as saved: the default's JSON, then each named parameter's (so a trainer with the
     * same single updater reads files written before per-parameter updaters existed).
     */
    private String updaterJson() {
        StringBuilder json = new StringBuilder(TrainerState.json(updater));
        updaters.forEach((name, u) -> json.append('\n').append(name).append('=').append(TrainerState.json(u)));
        return json.toString();
    }

    /** The variable trained for {@code name}: itself, or its initial value while that is trained; else null. */
    private String trainedVariableOf(String name) {
        if (trained.contains(name)) {
            return name;
        }
        String initial = GraphState.of(sd).renamedToInitial.get(name);
        return initial != null && trained.contains(initial) ? initial : null;
    }

    /**
     * The updater state of a parameter (or variable): copies of its arrays under ND4J's names (Adam's {@code M} and
     * {@code V}), each of the parameter's shape, as {@link Builder#updaterState} takes them.
     *
     * @param parameter the name of a trained variable or of a mutable parameter trained through its initial value
     * @return the arrays, empty for a stateless updater (SGD), a parameter not trained yet, or one computed from
     *     other variables
     */
    public Map<String, INDArray> updaterState(String parameter) {
        lock.readLock().lock();
        try {
            String variable = trainedVariableOf(parameter);
            UpdaterState state = variable == null ? null : states.get(variable);
            Map<String, INDArray> copies = new LinkedHashMap<>();
            if (state != null) {
                state.arrays().forEach((k, v) -> copies.put(k, v.dup()));
            }
            return copies;
        } finally {
            lock.readLock().unlock();
        }
    }

    private IUpdater updaterOf(String variable) {
        String key = settingsOf.get(variable);
        return key == null ? updater : updaters.getOrDefault(key, updater);
    }

    private List<Regularization> regularizationOf(String variable) {
        String key = regularizationOwners.get(variable);
        return key == null ? List.of() : regularization.getOrDefault(key, List.of());
    }

    /**
     * Starts a trainer for a SameDiff graph.
     *
     * @param sd the graph
     * @return a builder; set at least the updater
     * @throws NullPointerException if {@code sd} is null
     */
    public static Builder builder(SameDiff sd) {
        return new Builder(Objects.requireNonNull(sd, "sd"));
    }

    /**
     * Starts a trainer for a mutable graph (its {@link MutableGraph#sameDiff()}). For a converted DL4J network,
     * {@code builder(network.graph()).loss(network.lossName())}.
     *
     * @param graph the graph
     * @return a builder; set at least the updater
     * @throws NullPointerException if {@code graph} is null
     */
    public static Builder builder(MutableGraph graph) {
        return builder(Objects.requireNonNull(graph, "graph").sameDiff());
    }

    /** Options of a {@link GraphTrainer}: the updater is required, the rest optional. */
    public static final class Builder {
        private final SameDiff sd;
        private String loss;
        private IUpdater updater;
        private final Map<String, IUpdater> updaters = new LinkedHashMap<>();
        private final Map<String, List<Regularization>> regularization = new LinkedHashMap<>();
        private final List<ClippingGroup> clipping = new ArrayList<>();
        private final Map<String, Map<String, INDArray>> startStates = new LinkedHashMap<>();
        private long startIteration;
        private long startEpoch;
        private StepListener listener;
        private int logEvery;
        private boolean nd4jOutput;

        private Builder(SameDiff sd) {
            this.sd = sd;
        }

        /**
         * The variable to minimise: a floating-point scalar. Default: the graph's loss variable, if it has exactly
         * one ({@code sd.setLossVariables}).
         *
         * @param name a variable of the graph
         * @return this builder
         */
        public Builder loss(String name) {
            this.loss = name;
            return this;
        }

        /**
         * The updater (required), for example {@code new Adam(1e-3)} or {@code new Sgd(0.05)}; its learning-rate
         * schedule, if any, reads this trainer's iteration count (epoch 0).
         *
         * @param updater an ND4J updater configuration
         * @return this builder
         */
        public Builder updater(IUpdater updater) {
            this.updater = updater;
            return this;
        }

        /**
         * The updater of one parameter (or variable), and of what trains it: the variable itself if it is trained;
         * otherwise its initial value, or the variables upstream of its current value (a hypernetwork's, after the
         * parameter was set from them) that no other named parameter claims first, in the order the names were
         * given. Variables no name reaches use {@link #updater(IUpdater)}. Each gets its own state.
         *
         * @param parameter the name of a variable or mutable parameter of the graph
         * @param updater   its updater
         * @return this builder
         * @throws NullPointerException if an argument is null
         */
        public Builder updater(String parameter, IUpdater updater) {
            updaters.put(Objects.requireNonNull(parameter, "parameter"), Objects.requireNonNull(updater, "updater"));
            return this;
        }

        /**
         * Regularisation of one parameter (or variable), and of what trains it (see {@link #updater(String,
         * IUpdater)}): ND4J's {@code L1Regularization}, {@code L2Regularization} and {@code WeightDecay}, applied as
         * {@code SameDiff.fit} and DL4J apply them: L1 and L2 add to the gradient before the updater, weight decay to
         * the update after it (scaled by the updater's learning rate if it says so). Their score is added to the
         * loss each step reports. Default: none.
         *
         * @param parameter      the name of a variable or mutable parameter of the graph
         * @param regularization its terms, in the order they apply
         * @return this builder
         * @throws NullPointerException if an argument or a term is null
         */
        public Builder regularization(String parameter, Regularization... regularization) {
            Objects.requireNonNull(parameter, "parameter");
            for (Regularization r : Objects.requireNonNull(regularization, "regularization")) {
                Objects.requireNonNull(r, "regularization term");
            }
            this.regularization.put(parameter, List.of(regularization));
            return this;
        }

        /**
         * Limits the gradients of a group of parameters (or variables) before regularisation and the updater,
         * taking the variables that train them as {@link #updater(String, IUpdater)} does. Groups apply in the order
         * given. Default: none.
         *
         * @param rule       how to limit them
         * @param parameters the group's names, at least one
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if no name is given
         */
        public Builder clipping(GradientClipping rule, String... parameters) {
            Objects.requireNonNull(rule, "rule");
            if (parameters.length == 0) {
                throw new IllegalArgumentException(Messages.EMPTY_NAMES);
            }
            for (String p : parameters) {
                Objects.requireNonNull(p, "parameter");
            }
            clipping.add(new ClippingGroup(rule, List.of(parameters)));
            return this;
        }

        /**
         * Starts the counts where training done elsewhere left them (a DL4J network's, for example): schedules and
         * Adam's bias correction read them. Default 0 and 0.
         *
         * @param iteration the number of steps already done, at least 0
         * @param epoch     the number of epochs already ended, at least 0
         * @return this builder
         * @throws IllegalArgumentException if a count is negative
         */
        public Builder startingAt(long iteration, long epoch) {
            if (iteration < 0 || epoch < 0) {
                throw new IllegalArgumentException(Messages.format(Messages.BAD_START, iteration, epoch));
            }
            this.startIteration = iteration;
            this.startEpoch = epoch;
            return this;
        }

        /**
         * Starts one parameter's updater state from arrays made elsewhere (Adam's {@code M} and {@code V}, say,
         * under ND4J's names, each of the parameter's shape), as {@link #updaterState(String)} returns them. It
         * applies to the variable trained for the parameter while that is the parameter itself or its initial value;
         * a parameter now computed from other variables starts them fresh. Default: fresh states.
         *
         * @param parameter the name of a variable or mutable parameter of the graph
         * @param arrays    the state's arrays by ND4J's names; copied
         * @return this builder
         * @throws NullPointerException if an argument is null
         */
        public Builder updaterState(String parameter, Map<String, INDArray> arrays) {
            Objects.requireNonNull(parameter, "parameter");
            Map<String, INDArray> copies = new LinkedHashMap<>();
            Objects.requireNonNull(arrays, "arrays").forEach((k, v) -> copies.put(k, Objects.requireNonNull(v, k).dup()));
            startStates.put(parameter, copies);
            return this;
        }

        /**
         * Something to call after every step (a progress bar, a loss curve). Default: none.
         *
         * @param listener the listener, or null for none
         * @return this builder
         */
        public Builder listener(StepListener listener) {
            this.listener = listener;
            return this;
        }

        /**
         * Logs progress (iteration, mean loss since the last line, steps per second) through SLF4J at INFO level
         * every {@code steps} steps. Default 0: no logging.
         *
         * @param steps the interval in steps, or 0 for none
         * @return this builder
         * @throws IllegalArgumentException if {@code steps} is negative
         */
        public Builder logEvery(int steps) {
            if (steps < 0) {
                throw new IllegalArgumentException(Messages.format(Messages.BAD_INTERVAL, steps));
            }
            this.logEvery = steps;
            return this;
        }

        /**
         * Whether ND4J may print its line per op while it builds a gradient function. Default false: those lines
         * are dropped (and nothing else that is printed meanwhile).
         *
         * @param shown true to let ND4J print
         * @return this builder
         */
        public Builder nd4jOutput(boolean shown) {
            this.nd4jOutput = shown;
            return this;
        }

        /**
         * Checks the options against the graph and builds the trainer; builds the gradient function too.
         *
         * @return the trainer
         * @throws IllegalArgumentException if no updater was set, no loss was named and the graph has not exactly one
         *                                  loss variable, the loss is not a floating-point variable of the graph, a
         *                                  shape known for it is not a scalar's, or it depends on no trainable
         *                                  floating-point {@code VARIABLE}
         */
        public GraphTrainer build() {
            if (updater == null) {
                throw new IllegalArgumentException(Messages.NO_UPDATER);
            }
            Set<String> named = new LinkedHashSet<>(updaters.keySet());
            named.addAll(regularization.keySet());
            named.addAll(startStates.keySet());
            clipping.forEach(c -> named.addAll(c.parameters()));
            for (String p : named) {
                if (!sd.hasVariable(p)) {
                    throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_TRAINED_NAME, p,
                            Messages.nearest(p, sd.getVariables().keySet())));
                }
            }
            String name = loss;
            if (name == null) {
                List<String> losses = sd.getLossVariables();
                if (losses.size() != 1) {
                    throw new IllegalArgumentException(Messages.format(Messages.NO_LOSS_SET, losses.size(),
                            Messages.list(losses)));
                }
                name = losses.get(0);
            }
            if (!sd.hasVariable(name)) {
                throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_LOSS, name,
                        Messages.nearest(name, sd.getVariables().keySet())));
            }
            SDVariable v = sd.getVariable(name);
            if (v.dataType() == null || !v.dataType().isFPType()) {
                throw new IllegalArgumentException(Messages.format(Messages.LOSS_NOT_FLOATING_POINT, name,
                        v.dataType()));
            }
            long[] shape = knownShape(v);
            if (shape != null && length(shape) != 1) {
                throw new IllegalArgumentException(Messages.format(Messages.LOSS_NOT_SCALAR, name, shape));
            }
            return new GraphTrainer(this, name);
        }

        private static long[] knownShape(SDVariable v) {
            // Only placeholders, variables and constants have a shape before the graph runs; an op's output may not.
            if (v.getVariableType() == VariableType.ARRAY) {
                return null;
            }
            long[] shape = v.getShape();
            for (long s : shape == null ? new long[0] : shape) {
                if (s < 0) {
                    return null;
                }
            }
            return shape;
        }

        private static long length(long[] shape) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }

    /**
     * One training step: computes the loss and its gradients for {@code feed}, then updates every trained variable.
     *
     * @param feed the placeholders' values, keyed by name ({@code Map.of()} when the loss needs none)
     * @return the loss for this feed, before the update, plus the regularisation terms' score (if any) of the
     *     parameters before the update
     * @throws IllegalArgumentException if the feed is null, a key is not a placeholder of the graph, a value is null,
     *                                  a placeholder the loss needs is missing, the loss is not one number, or (after
     *                                  a mutation) the loss no longer depends on any trainable variable
     * @throws ArithmeticException      if the loss is NaN or infinite; the parameters are then not updated
     */
    public double step(Map<String, INDArray> feed) {
        // Exclusive: computations through MutableGraph in other threads see the parameters before or after a step.
        lock.writeLock().lock();
        try {
            return stepLocked(feed);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * One training step on {@code otherLoss}, another loss variable of the same graph that the same trained variables
     * produce (a network's loss computed with masks, say): as {@link #step(Map)}, with this trainer's updaters,
     * their states, regularisation, clipping and counts, so steps on either loss continue one training. The gradient
     * function of each loss is kept for the next step on it while the graph's structure stays the same (up to eight
     * losses).
     *
     * @param feed      the placeholders' values, keyed by name
     * @param otherLoss the loss variable to differentiate this step
     * @return the loss for this feed, before the update, plus the regularisation score, as {@link #step(Map)}
     * @throws IllegalArgumentException if {@code otherLoss} is not a variable of the graph, or as {@link #step(Map)}
     * @throws ArithmeticException      as {@link #step(Map)}
     */
    public double step(Map<String, INDArray> feed, String otherLoss) {
        lock.writeLock().lock();
        try {
            FeedCheck.requireVariables(sd, "step", otherLoss);
            return stepLocked(feed, otherLoss);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private double stepLocked(Map<String, INDArray> feed) {
        return stepLocked(feed, loss);
    }

    private double stepLocked(Map<String, INDArray> feed, String loss) {
        checkFeed(feed);
        GradientFunctions.useLoss(sd, loss);
        if (!sd.hasGradientFunction()) {
            prepare(loss);      // the graph changed since the last step (a mutation drops the gradient function)
        }
        if (loss.equals(this.loss)) {
            requirePlaceholders(feed);
        }
        if (logEvery > 0 && windowStart == 0) {
            windowStart = System.nanoTime();
        }
        // The plan's own arrays: the loss is read and the gradients applied before the next step.
        ExecutionPlans.Results result = plans.outputsAndGradients(sd, feed, List.of(loss), trained, false);
        INDArray lossArray = result.outputs().get(loss);
        if (!scalarChecked) {
            if (lossArray.length() != 1) {
                throw new IllegalArgumentException(Messages.format(Messages.LOSS_NOT_SCALAR, loss,
                        lossArray.shape()));
            }
            scalarChecked = true;
        }
        double value = lossArray.getDouble(0);
        if (!Double.isFinite(value)) {
            throw new ArithmeticException(Messages.format(Messages.NON_FINITE_LOSS, loss, value,
                    iteration + 1));
        }
        double score = value + update(result.gradients());
        iteration++;
        report(score);
        return score;
    }

    /**
     * One training step with gradients computed elsewhere (the mean of workers' gradients in data-parallel
     * training): as {@link #step}, without computing anything, so the same updater, per-parameter settings and counts
     * apply. Each gradient is that of the loss (a mean over the examples, for steps equal to one machine's). The
     * listener and the progress log are not called: the caller has the loss, this trainer does not.
     *
     * @param gradients a gradient per trained variable ({@link #trainedVariables()}), of its shape; a variable left
     *                  out is not updated (as a variable the loss does not reach)
     * @return the regularisation score of the parameters before the step (0 without regularisation), which
     *     {@link #step} adds to the loss it reports
     * @throws IllegalArgumentException if a name is not a trained variable or a gradient's shape is not the
     *                                  variable's; nothing is updated then
     */
    public double applyGradients(Map<String, INDArray> gradients) {
        Objects.requireNonNull(gradients, "gradients");
        lock.writeLock().lock();
        try {
            if (!sd.hasGradientFunction()) {
                prepare(loss);
            }
            for (Map.Entry<String, INDArray> e : gradients.entrySet()) {
                if (!trained.contains(e.getKey())) {
                    throw new IllegalArgumentException(Messages.format(Messages.NOT_TRAINED, e.getKey(),
                            Messages.list(trained)));
                }
                long[] shape = sd.getVariable(e.getKey()).getArr().shape();
                if (!Arrays.equals(shape, e.getValue().shape())) {
                    throw new IllegalArgumentException(Messages.format(Messages.GRADIENT_MISMATCH, e.getKey(),
                            e.getValue().shape(), shape));
                }
            }
            double regularisation = update(gradients);
            iteration++;
            return regularisation;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Applies one step's gradients to the trained variables: clipping, regularisation before the updater, the
     * updater, weight decay after it. Returns the regularisation score of the parameters before the step.
     */
    private double update(Map<String, INDArray> gradients) {
        if (!clipping.isEmpty()) {
            gradients = clipped(gradients);
        }
        double regularizationScore = 0;
        for (String name : trained) {
            INDArray gradient = gradients.get(name);
            List<Regularization> terms = regularizationOf(name);
            INDArray param = sd.getVariable(name).getArr();
            if (gradient == null) {
                if (terms.isEmpty()) {
                    continue;      // as in sd.fit: no floating-point path from this variable to the loss
                }
                // the loss does not reach it (a stopped gradient), but its regularisation does, as in DL4J
                gradient = param.ulike().assign(0);
            }
            IUpdater config = updaterOf(name);
            INDArray decay = null;
            if (!terms.isEmpty()) {
                double rate = config.hasLearningRate() ? config.getLearningRate((int) iteration, (int) epoch) : 1.0;
                for (Regularization r : terms) {
                    regularizationScore += r.score(param, (int) iteration, (int) epoch);
                    if (r.applyStep() == Regularization.ApplyStep.BEFORE_UPDATER) {
                        gradient = gradient == gradients.get(name) ? gradient.dup() : gradient;
                        r.apply(param, gradient, rate, (int) iteration, (int) epoch);
                    } else {
                        decay = decay == null ? param.ulike().assign(0) : decay;
                        r.apply(param, decay, rate, (int) iteration, (int) epoch);
                    }
                }
            }
            states.computeIfAbsent(name, n -> UpdaterState.create(config, param))
                    .apply(param, gradient, iteration, epoch);
            if (decay != null) {
                param.subi(decay);      // the update after the updater, computed from the parameter before it
            }
        }
        return regularizationScore;
    }

    /** The gradients with each clipping group applied, in order, to copies. */
    private Map<String, INDArray> clipped(Map<String, INDArray> gradients) {
        Map<String, INDArray> copies = new HashMap<>(gradients);
        Set<String> copied = new HashSet<>();
        for (int i = 0; i < clipping.size(); i++) {
            List<INDArray> members = new ArrayList<>();
            for (String name : clippingMembers.get(i)) {
                if (copies.get(name) != null) {
                    if (copied.add(name)) {
                        copies.put(name, copies.get(name).dup());
                    }
                    members.add(copies.get(name));
                }
            }
            clipping.get(i).rule().apply(members);
        }
        return copies;
    }

    /**
     * Trains for {@code steps} steps, asking {@code feeds} for each step's feed.
     *
     * @param feeds gives the placeholders' values for each step (for example {@code iterator::next}, or a lambda
     *              that draws a minibatch)
     * @param steps how many steps, at least 0
     * @return the loss of each step, before its update (with regularisation, as {@link #step})
     * @throws IllegalArgumentException if {@code steps} is negative, {@code feeds} returns null, or as {@link #step}
     * @throws ArithmeticException      as {@link #step}; the steps before stay done
     */
    public double[] fit(Supplier<? extends Map<String, INDArray>> feeds, int steps) {
        Objects.requireNonNull(feeds, "feeds");
        if (steps < 0) {
            throw new IllegalArgumentException(Messages.format(Messages.BAD_STEPS, steps));
        }
        double[] losses = new double[steps];
        long first = iteration;
        for (int i = 0; i < steps; i++) {
            Map<String, INDArray> feed = feeds.get();
            if (feed == null) {
                throw new IllegalArgumentException(Messages.format(Messages.NULL_FEEDS, i + 1, steps));
            }
            losses[i] = stepWithTotal(feed, first + steps);
        }
        return losses;
    }

    private double stepWithTotal(Map<String, INDArray> feed, long lastIteration) {
        total = lastIteration;
        try {
            return step(feed);
        } finally {
            total = -1;
        }
    }

    /**
     * The number of steps done so far; the updater's iteration count.
     *
     * @return the count
     */
    public long iteration() {
        return iteration;
    }

    /**
     * The number of epochs ended so far ({@link #endEpoch}); updater schedules of type {@code EPOCH} read it.
     *
     * @return the count, 0 until the first {@link #endEpoch}
     */
    public long epoch() {
        return epoch;
    }

    /**
     * Ends an epoch: the steps after this call see the next epoch count, as DL4J's and Tribuo's trainers count a
     * pass over the data. Call it after each pass when the updater's schedule is per epoch; a per-iteration
     * schedule, and an updater without one, ignore it.
     */
    public void endEpoch() {
        lock.writeLock().lock();
        try {
            epoch++;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * The variable this trainer minimises.
     *
     * @return its name
     */
    public String lossName() {
        return loss;
    }

    /**
     * The variables the next step will train: every trainable floating-point {@code VARIABLE} the loss depends on,
     * as of the last step (or the build).
     *
     * @return their names, sorted
     */
    public List<String> trainedVariables() {
        return trained;
    }

    /**
     * Finds what the trainer's loss depends on and checks it, then builds the gradient function of
     * {@code differentiated} (the trainer's loss, or the other loss of a {@link #step(Map, String)}).
     */
    private void prepare(String differentiated) {
        Set<String> variables = new TreeSet<>();
        Set<String> needed = new TreeSet<>();
        Set<String> seen = new TreeSet<>();
        GraphWalk.upstream(sd, List.of(loss), false, v -> {
            seen.add(v.getName());
            SDVariable variable = v.getVariable();
            if (variable.getVariableType() == VariableType.VARIABLE && variable.dataType().isFPType()) {
                variables.add(v.getName());
            } else if (variable.getVariableType() == VariableType.PLACEHOLDER) {
                needed.add(v.getName());
            }
            return true;
        });
        if (variables.isEmpty()) {
            throw new IllegalArgumentException(Messages.format(Messages.NOTHING_TRAINABLE, loss,
                    Messages.list(List.copyOf(seen))));
        }
        // A parameter that got its slot since the last step is trained as its initial value now: its updater state
        // (Adam's moments, say) moves with it.
        GraphState.of(sd).renamedToInitial.forEach((parameter, initial) -> {
            if (variables.contains(initial) && states.containsKey(parameter) && !states.containsKey(initial)) {
                states.put(initial, states.remove(parameter));
            }
        });
        trained = List.copyOf(variables);
        settingsOf = owners(updaters.keySet(), variables);
        regularizationOwners = owners(regularization.keySet(), variables);
        List<List<String>> members = new ArrayList<>();
        for (ClippingGroup group : clipping) {
            members.add(List.copyOf(new TreeSet<>(owners(group.parameters(), variables).keySet())));
        }
        clippingMembers = List.copyOf(members);
        placeholders = Collections.unmodifiableSet(needed);
        GradientFunctions.useLoss(sd, differentiated);
        GradientFunctions.ensure(sd, quiet);
    }

    /**
     * Which of {@code names} each trained variable takes its settings from: a name that is the variable itself;
     * otherwise the first name, in order, whose value depends on it (its initial value, a hypernetwork's variables).
     */
    private Map<String, String> owners(Collection<String> names, Set<String> variables) {
        Map<String, String> owners = new HashMap<>();
        for (String name : names) {
            if (variables.contains(name)) {
                owners.put(name, name);
            }
        }
        for (String name : names) {
            if (!variables.contains(name) && sd.hasVariable(name)) {
                GraphWalk.upstream(sd, List.of(name), false, v -> {
                    if (variables.contains(v.getName())) {
                        owners.putIfAbsent(v.getName(), name);
                    }
                    return true;
                });
            }
        }
        return owners;
    }

    /** A clipping rule and the names of the group it limits. */
    private record ClippingGroup(GradientClipping rule, List<String> parameters) {
    }

    private void checkFeed(Map<String, INDArray> feed) {
        if (feed == null) {
            throw new IllegalArgumentException(Messages.NULL_FEED);
        }
        FeedCheck.requirePlaceholderKeys(sd, feed);
    }

    private void requirePlaceholders(Map<String, INDArray> feed) {
        if (feed.keySet().containsAll(placeholders)) {
            return;
        }
        Set<String> missing = new TreeSet<>(placeholders);
        missing.removeAll(feed.keySet());
        throw new IllegalArgumentException(Messages.format(Messages.MISSING_LOSS_PLACEHOLDERS,
                Messages.list(missing), loss, Messages.list(new TreeSet<>(feed.keySet()))));
    }

    private void report(double value) {
        if (listener != null) {
            listener.stepDone(iteration, value);
        }
        if (logEvery == 0) {
            return;
        }
        windowSum += value;
        windowCount++;
        if (iteration % logEvery == 0 || iteration == total) {
            long now = System.nanoTime();
            double seconds = (now - windowStart) / 1e9;
            String progress = total > 0 ? iteration + "/" + total : Long.toString(iteration);
            LOG.info("Training \"{}\": step {}, mean loss of the last {} steps {}, {} steps/s", loss, progress,
                    windowCount, String.format(Locale.ROOT, "%.5g", windowSum / windowCount),
                    String.format(Locale.ROOT, "%.1f", windowCount / Math.max(seconds, 1e-9)));
            windowSum = 0;
            windowCount = 0;
            windowStart = now;
        }
    }
}
