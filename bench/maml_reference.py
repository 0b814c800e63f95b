#!/usr/bin/env python3
"""PyTorch reference for MAML through mutable parameters (issue 14).

reference [path]   Writes the meta-training trajectory of a small sine-regression case, second- and first-order MAML
                   from the same initial weights and tasks, as JSON (the committed test resource
                   dl4j-adapter/src/test/resources/maml-reference.json, read by MamlTrajectoryTest): the initial
                   weights, every meta-step's tasks, and after each meta-step the meta-loss and all parameters.
                   float64 throughout; the inner step is W' = W - alpha * dL_support/dW, repeated; the meta-gradient
                   of the mean query loss over the tasks, by torch.autograd.grad(..., create_graph=True) for second
                   order, with the inner gradients detached for first order; the meta-optimiser is Adam written out
                   below, as the Java test writes it.
conv-reference [path]
                   The same for a convolutional few-shot classifier (dl4j-adapter/src/test/resources/
                   maml-conv-reference.json, read by MamlTrajectoryTest): two blocks of 3x3 convolution (padding 1,
                   as DL4J's ConvolutionMode Same), ReLU and 2x2 max pooling, a dense softmax head, cross-entropy as
                   DL4J's MCXENT; 3-way 1-shot tasks of synthetic 8x8 images (each class a random pattern, its
                   examples the pattern plus noise).
lstm-reference [path]
                   The same for an LSTM sequence classifier (dl4j-adapter/src/test/resources/
                   maml-lstm-reference.json, read by MamlTrajectoryTest): an LSTM in DL4J's layout (gate blocks
                   [cell input | forget | output | input gate] of W [nIn, 4n], RW [n, 4n], b [4n]; tanh cells, sigmoid
                   gates) whose last time step feeds a dense softmax head (DL4J's LastTimeStep and OutputLayer),
                   cross-entropy; 3-way 2-shot tasks of synthetic sequences [N, features, steps] (each class a random
                   sequence, its examples that sequence plus noise).
bench [threads]    Prints one JSON object: the median milliseconds of one second-order meta-step of MamlSine's
                   configuration (MLP 1-40-40-1 ReLU, 10 support and 10 query points per task, one inner step,
                   10 tasks, Adam), and of MamlFewShot's (conv_step_median_ms: the convolutional network on 12x12
                   images, 4 tasks of 5 support and 15 query images, inner rate 0.4), float32, as MamlBenchmark
                   measures them in Java.

Weights use DL4J's layout: W [nIn, nOut] (x @ W + b), b [nOut]; a convolution's W [nOut, nIn, kH, kW] (PyTorch's). Run with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import math
import re
import statistics
import sys
import time

import torch

torch.set_default_dtype(torch.float64)

# The small case of the trajectory test.
SIZES = [1, 8, 8, 1]
TASKS_PER_STEP = 2
SUPPORT = 5
QUERY = 5
INNER_STEPS = 2
INNER_RATE = 0.02
META_RATE = 0.01
META_STEPS = 25
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8

# The convolutional case: 8x8 images of one channel, two conv blocks of 4 channels, 3 classes.
CONV_IMAGE = 8
CONV_CHANNELS = [1, 4, 4]
CONV_CLASSES = 3
CONV_SHOTS = 1
CONV_QUERIES = 2
CONV_INNER_STEPS = 2
CONV_INNER_RATE = 0.1
CONV_META_STEPS = 12

# The recurrent case: sequences of 2 features over 6 steps, an LSTM of 5 units, 3 classes.
LSTM_FEATURES = 2
LSTM_STEPS = 6
LSTM_UNITS = 5
LSTM_CLASSES = 3
LSTM_SHOTS = 2
LSTM_QUERIES = 2
LSTM_INNER_STEPS = 2
LSTM_INNER_RATE = 0.3
LSTM_META_STEPS = 12

# The benchmark case: the example's network and meta-batch.
BENCH_SIZES = [1, 40, 40, 1]
BENCH_META_BATCH = 10
BENCH_POINTS = 10
BENCH_INNER_RATE = 0.01


def keys(sizes):
    out = []
    for i in range(len(sizes) - 1):
        out += [f"{i}_W", f"{i}_b"]
    return out


def initial_weights(sizes, generator):
    params = {}
    for i in range(len(sizes) - 1):
        bound = 1 / math.sqrt(sizes[i])
        params[f"{i}_W"] = (torch.rand(sizes[i], sizes[i + 1], generator=generator) * 2 - 1) * bound
        params[f"{i}_b"] = (torch.rand(sizes[i + 1], generator=generator) * 2 - 1) * bound
    return params


def sine_task(generator, support, query):
    """Amplitude in [0.1, 5], phase in [0, pi], inputs in [-5, 5], as in the MAML paper."""
    amplitude = 0.1 + 4.9 * torch.rand(1, generator=generator).item()
    phase = math.pi * torch.rand(1, generator=generator).item()
    x = torch.rand(support + query, 1, generator=generator) * 10 - 5
    y = amplitude * torch.sin(x - phase)
    return {"support_x": x[:support], "support_y": y[:support], "query_x": x[support:], "query_y": y[support:]}


def forward(params, x, layers):
    for i in range(layers):
        x = x @ params[f"{i}_W"] + params[f"{i}_b"]
        if i < layers - 1:
            x = torch.relu(x)
    return x


def mse(out, y):
    """DL4J's MSE score: the squared error summed over the outputs / nOut, averaged over the examples."""
    return ((out - y) ** 2).mean()


def meta_loss(params, tasks, layers, inner_steps, inner_rate, second_order):
    total = 0
    for task in tasks:
        adapted = dict(params)
        for _ in range(inner_steps):
            loss = mse(forward(adapted, task["support_x"], layers), task["support_y"])
            names = list(adapted)
            grads = torch.autograd.grad(loss, [adapted[k] for k in names], create_graph=second_order)
            adapted = {k: adapted[k] - inner_rate * (g if second_order else g.detach())
                       for k, g in zip(names, grads)}
        total = total + mse(forward(adapted, task["query_x"], layers), task["query_y"])
    return total / len(tasks)


class Adam:
    """Adam as the Java test writes it: bias-corrected moments, eps added to the corrected root (torch's form)."""

    def __init__(self, params):
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        out = {}
        for k in params:
            self.m[k] = BETA1 * self.m[k] + (1 - BETA1) * grads[k]
            self.v[k] = BETA2 * self.v[k] + (1 - BETA2) * grads[k] * grads[k]
            m_hat = self.m[k] / (1 - BETA1 ** self.t)
            v_hat = self.v[k] / (1 - BETA2 ** self.t)
            out[k] = params[k] - META_RATE * m_hat / (torch.sqrt(v_hat) + EPSILON)
        return out


def trajectory(initial, steps, meta_loss_of):
    """Adam on meta_loss_of(parameters, tasks) over the steps' tasks: every meta-loss and the parameters after each."""
    params = {k: v.clone() for k, v in initial.items()}
    adam = Adam(params)
    losses, history = [], []
    for tasks in steps:
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        loss = meta_loss_of(leaves, tasks)
        names = list(leaves)
        grads = dict(zip(names, torch.autograd.grad(loss, [leaves[k] for k in names])))
        losses.append(loss.item())
        params = adam.step({k: v.detach() for k, v in leaves.items()}, grads)
        history.append({k: v.tolist() for k, v in params.items()})
    return {"meta_losses": losses, "parameters": history}


def sine_trajectory(initial, steps, second_order):
    layers = len(SIZES) - 1
    return trajectory(initial, steps,
                      lambda p, tasks: meta_loss(p, tasks, layers, INNER_STEPS, INNER_RATE, second_order))


def write(out, path):
    """The reference as one line of JSON, into path or to standard output."""
    text = json.dumps(out)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


def conv_keys():
    return ["0_W", "0_b", "2_W", "2_b", "4_W", "4_b"]


def conv_initial_weights(generator):
    """PyTorch's default bounds, 1/sqrt(fan_in), for every weight and bias."""
    params = {}
    for layer, (n_in, n_out) in zip([0, 2], zip(CONV_CHANNELS, CONV_CHANNELS[1:])):
        bound = 1 / math.sqrt(n_in * 9)
        params[f"{layer}_W"] = (torch.rand(n_out, n_in, 3, 3, generator=generator) * 2 - 1) * bound
        params[f"{layer}_b"] = (torch.rand(n_out, generator=generator) * 2 - 1) * bound
    flat = CONV_CHANNELS[-1] * (CONV_IMAGE // 4) ** 2
    bound = 1 / math.sqrt(flat)
    params["4_W"] = (torch.rand(flat, CONV_CLASSES, generator=generator) * 2 - 1) * bound
    params["4_b"] = (torch.rand(CONV_CLASSES, generator=generator) * 2 - 1) * bound
    return params


def image_task(generator):
    """CONV_CLASSES random 8x8 patterns; each example is its class's pattern plus noise; labels one-hot."""
    patterns = torch.randn(CONV_CLASSES, 1, CONV_IMAGE, CONV_IMAGE, generator=generator)

    def draw(per_class):
        labels = torch.arange(CONV_CLASSES).repeat(per_class)
        x = patterns[labels] + 0.5 * torch.randn(len(labels), 1, CONV_IMAGE, CONV_IMAGE, generator=generator)
        return x, torch.nn.functional.one_hot(labels, CONV_CLASSES).to(x.dtype)

    support_x, support_y = draw(CONV_SHOTS)
    query_x, query_y = draw(CONV_QUERIES)
    return {"support_x": support_x, "support_y": support_y, "query_x": query_x, "query_y": query_y}


def conv_forward(params, x):
    for layer in (0, 2):
        x = torch.nn.functional.conv2d(x, params[f"{layer}_W"], params[f"{layer}_b"], padding=1)
        x = torch.nn.functional.max_pool2d(torch.relu(x), 2)
    return x.reshape(x.shape[0], -1) @ params["4_W"] + params["4_b"]


def mcxent(logits, y):
    """DL4J's MCXENT score on a softmax output: -sum of labels * log-probabilities, averaged over the examples."""
    return -(y * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def classifier_meta_loss(forward_of, params, tasks, inner_steps, inner_rate, second_order):
    """The mean query cross-entropy over the tasks after inner_steps gradient steps on each task's support set."""
    total = 0
    for task in tasks:
        adapted = dict(params)
        for _ in range(inner_steps):
            loss = mcxent(forward_of(adapted, task["support_x"]), task["support_y"])
            names = list(adapted)
            grads = torch.autograd.grad(loss, [adapted[k] for k in names], create_graph=second_order)
            adapted = {k: adapted[k] - inner_rate * (g if second_order else g.detach())
                       for k, g in zip(names, grads)}
        total = total + mcxent(forward_of(adapted, task["query_x"]), task["query_y"])
    return total / len(tasks)


def conv_meta_loss(params, tasks, second_order):
    return classifier_meta_loss(conv_forward, params, tasks, CONV_INNER_STEPS, CONV_INNER_RATE, second_order)


def conv_reference(path):
    generator = torch.Generator().manual_seed(24)
    initial = conv_initial_weights(generator)
    steps = [[image_task(generator) for _ in range(TASKS_PER_STEP)] for _ in range(CONV_META_STEPS)]
    out = {
        "description": "MAML few-shot image classification with a convolutional network, float64: written by "
                       "bench/maml_reference.py conv-reference, read by MamlTrajectoryTest; do not edit by hand",
        "torch": torch.__version__,
        "architecture": "conv", "image": CONV_IMAGE, "channels": CONV_CHANNELS, "classes": CONV_CLASSES,
        "inner_steps": CONV_INNER_STEPS, "inner_rate": CONV_INNER_RATE,
        "meta_rate": META_RATE, "beta1": BETA1, "beta2": BETA2, "epsilon": EPSILON,
        "keys": conv_keys(),
        "initial": {k: v.tolist() for k, v in initial.items()},
        "steps": [[{k: v.tolist() for k, v in task.items()} for task in tasks] for tasks in steps],
        "second_order": trajectory(initial, steps, lambda p, tasks: conv_meta_loss(p, tasks, True)),
        "first_order": trajectory(initial, steps, lambda p, tasks: conv_meta_loss(p, tasks, False)),
    }
    write(out, path)


def lstm_initial_weights(generator):
    """PyTorch's LSTM and Linear default bounds, 1/sqrt(units), in DL4J's layout."""
    bound = 1 / math.sqrt(LSTM_UNITS)

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator) * 2 - 1) * bound

    return {"0_W": uniform(LSTM_FEATURES, 4 * LSTM_UNITS), "0_RW": uniform(LSTM_UNITS, 4 * LSTM_UNITS),
            "0_b": uniform(4 * LSTM_UNITS), "1_W": uniform(LSTM_UNITS, LSTM_CLASSES), "1_b": uniform(LSTM_CLASSES)}


def sequence_task(generator):
    """LSTM_CLASSES random sequences [features, steps]; each example is its class's plus noise; labels one-hot."""
    prototypes = torch.randn(LSTM_CLASSES, LSTM_FEATURES, LSTM_STEPS, generator=generator)

    def draw(per_class):
        labels = torch.arange(LSTM_CLASSES).repeat(per_class)
        x = prototypes[labels] + 0.5 * torch.randn(len(labels), LSTM_FEATURES, LSTM_STEPS, generator=generator)
        return x, torch.nn.functional.one_hot(labels, LSTM_CLASSES).to(x.dtype)

    support_x, support_y = draw(LSTM_SHOTS)
    query_x, query_y = draw(LSTM_QUERIES)
    return {"support_x": support_x, "support_y": support_y, "query_x": query_x, "query_y": query_y}


def lstm_forward(params, x):
    """DL4J's LSTM over x [N, features, steps], gate blocks [a | f | o | i], then the head on the last step."""
    n = LSTM_UNITS
    h = torch.zeros(x.shape[0], n)
    c = torch.zeros(x.shape[0], n)
    for t in range(x.shape[2]):
        z = x[:, :, t] @ params["0_W"] + h @ params["0_RW"] + params["0_b"]
        a = torch.tanh(z[:, :n])
        f = torch.sigmoid(z[:, n:2 * n])
        o = torch.sigmoid(z[:, 2 * n:3 * n])
        i = torch.sigmoid(z[:, 3 * n:])
        c = f * c + i * a
        h = o * torch.tanh(c)
    return h @ params["1_W"] + params["1_b"]


def lstm_reference(path):
    generator = torch.Generator().manual_seed(25)
    initial = lstm_initial_weights(generator)
    steps = [[sequence_task(generator) for _ in range(TASKS_PER_STEP)] for _ in range(LSTM_META_STEPS)]

    def meta(second_order):
        return lambda p, tasks: classifier_meta_loss(lstm_forward, p, tasks, LSTM_INNER_STEPS, LSTM_INNER_RATE,
                                                     second_order)

    out = {
        "description": "MAML few-shot sequence classification with an LSTM, float64: written by "
                       "bench/maml_reference.py lstm-reference, read by MamlTrajectoryTest; do not edit by hand",
        "torch": torch.__version__,
        "architecture": "lstm", "features": LSTM_FEATURES, "time_steps": LSTM_STEPS, "units": LSTM_UNITS,
        "classes": LSTM_CLASSES, "inner_steps": LSTM_INNER_STEPS, "inner_rate": LSTM_INNER_RATE,
        "meta_rate": META_RATE, "beta1": BETA1, "beta2": BETA2, "epsilon": EPSILON,
        "keys": ["0_W", "0_RW", "0_b", "1_W", "1_b"],
        "initial": {k: v.tolist() for k, v in initial.items()},
        "steps": [[{k: v.tolist() for k, v in task.items()} for task in tasks] for tasks in steps],
        "second_order": trajectory(initial, steps, meta(True)),
        "first_order": trajectory(initial, steps, meta(False)),
    }
    write(out, path)


def reference(path):
    generator = torch.Generator().manual_seed(14)
    initial = initial_weights(SIZES, generator)
    steps = [[sine_task(generator, SUPPORT, QUERY) for _ in range(TASKS_PER_STEP)] for _ in range(META_STEPS)]
    out = {
        "description": "MAML sine regression, float64: written by bench/maml_reference.py, read by "
                       "MamlTrajectoryTest; do not edit by hand",
        "torch": torch.__version__,
        "sizes": SIZES, "activation": "relu", "loss": "mse",
        "inner_steps": INNER_STEPS, "inner_rate": INNER_RATE,
        "meta_rate": META_RATE, "beta1": BETA1, "beta2": BETA2, "epsilon": EPSILON,
        "keys": keys(SIZES),
        "initial": {k: v.tolist() for k, v in initial.items()},
        "steps": [[{k: v.tolist() for k, v in task.items()} for task in tasks] for tasks in steps],
        "second_order": sine_trajectory(initial, steps, True),
        "first_order": sine_trajectory(initial, steps, False),
    }
    write(out, path)


def timed(step):
    """The median milliseconds of step() over 5 seconds, after 20 warm-up calls."""
    for _ in range(20):
        step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < 5.0:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(times)


def bench(threads):
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)          # as the Java benchmark (FLOAT)
    generator = torch.Generator().manual_seed(1)
    layers = len(BENCH_SIZES) - 1
    params = initial_weights(BENCH_SIZES, generator)
    adam = Adam(params)
    tasks = [sine_task(generator, BENCH_POINTS, BENCH_POINTS) for _ in range(BENCH_META_BATCH)]

    def step():
        nonlocal params
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        loss = meta_loss(leaves, tasks, layers, 1, BENCH_INNER_RATE, True)
        names = list(leaves)
        grads = dict(zip(names, torch.autograd.grad(loss, [leaves[k] for k in names])))
        params = adam.step({k: v.detach() for k, v in leaves.items()}, grads)

    conv_params = {"0_W": torch.randn(8, 1, 3, 3, generator=generator) * 0.3,
                   "0_b": torch.zeros(8), "2_W": torch.randn(8, 8, 3, 3, generator=generator) * 0.1,
                   "2_b": torch.zeros(8), "4_W": torch.randn(8 * 3 * 3, 5, generator=generator) * 0.1,
                   "4_b": torch.zeros(5)}
    conv_adam = Adam(conv_params)
    conv_tasks = [{"support_x": torch.rand(5, 1, 12, 12, generator=generator),
                   "support_y": torch.nn.functional.one_hot(torch.arange(5), 5).float(),
                   "query_x": torch.rand(15, 1, 12, 12, generator=generator),
                   "query_y": torch.nn.functional.one_hot(torch.arange(15) % 5, 5).float()} for _ in range(4)]

    def conv_step():
        nonlocal conv_params
        leaves = {k: v.detach().requires_grad_(True) for k, v in conv_params.items()}
        total = 0
        for task in conv_tasks:
            loss = mcxent(conv_forward(leaves, task["support_x"]), task["support_y"])
            names = list(leaves)
            grads = torch.autograd.grad(loss, [leaves[k] for k in names], create_graph=True)
            adapted = {k: leaves[k] - 0.4 * g for k, g in zip(names, grads)}
            total = total + mcxent(conv_forward(adapted, task["query_x"]), task["query_y"])
        meta = total / len(conv_tasks)
        names = list(leaves)
        grads = dict(zip(names, torch.autograd.grad(meta, [leaves[k] for k in names])))
        conv_params = conv_adam.step({k: v.detach() for k, v in leaves.items()}, grads)

    sine_ms, samples = timed(step)
    conv_ms, conv_samples = timed(conv_step)
    match = re.search(r"BLAS_INFO=\w+", torch.__config__.show())
    print(json.dumps({"maml_step_median_ms": sine_ms, "samples": samples, "conv_step_median_ms": conv_ms,
                      "conv_samples": conv_samples, "meta_batch": BENCH_META_BATCH, "sizes": BENCH_SIZES,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "blas": match.group(0) if match else "unknown"}))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "reference"
    if mode == "bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    elif mode == "conv-reference":
        conv_reference(sys.argv[2] if len(sys.argv) > 2 else None)
    elif mode == "lstm-reference":
        lstm_reference(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        reference(sys.argv[2] if len(sys.argv) > 2 else None)
