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
bench [threads]    Prints one JSON object: the median milliseconds of one second-order meta-step of the example's
                   configuration (MLP 1-40-40-1 ReLU, 10 support and 10 query points per task, one inner step,
                   10 tasks, Adam), float32, as MamlBenchmark measures it in Java.

Weights use DL4J's layout: W [nIn, nOut] (x @ W + b), b [nOut]. Run with Debian's /usr/bin/python3 (python3-torch).
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


def trajectory(initial, steps, second_order):
    layers = len(SIZES) - 1
    params = {k: v.clone() for k, v in initial.items()}
    adam = Adam(params)
    losses, history = [], []
    for tasks in steps:
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        loss = meta_loss(leaves, tasks, layers, INNER_STEPS, INNER_RATE, second_order)
        names = list(leaves)
        grads = dict(zip(names, torch.autograd.grad(loss, [leaves[k] for k in names])))
        losses.append(loss.item())
        params = adam.step({k: v.detach() for k, v in leaves.items()}, grads)
        history.append({k: v.tolist() for k, v in params.items()})
    return {"meta_losses": losses, "parameters": history}


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
        "second_order": trajectory(initial, steps, True),
        "first_order": trajectory(initial, steps, False),
    }
    text = json.dumps(out)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


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

    for _ in range(20):
        step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < 5.0:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    match = re.search(r"BLAS_INFO=\w+", torch.__config__.show())
    print(json.dumps({"maml_step_median_ms": statistics.median(times), "samples": len(times),
                      "meta_batch": BENCH_META_BATCH, "sizes": BENCH_SIZES, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "blas": match.group(0) if match else "unknown"}))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "reference"
    if mode == "bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    else:
        reference(sys.argv[2] if len(sys.argv) > 2 else None)
