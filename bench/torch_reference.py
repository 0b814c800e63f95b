#!/usr/bin/env python3
"""PyTorch reference for bench/compare.sh: the same two hypernetwork training steps as HypernetworkBenchmark.

sine:   task [1, 2] -> 64 tanh -> all 1,761 weights of an MLP 1-40-40-1 (tanh), MSE on 50 points, Adam.
mlp784: task [1, 2] -> 32 tanh -> all 203,530 weights of an MLP 784-256-10 (relu), softmax cross-entropy on a batch
        of 128, Adam.
Prints one JSON object: median milliseconds per step, threads, torch version and BLAS.
"""
import json
import math
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(THREADS)
torch.manual_seed(3)


def hypernet(hidden, size):
    return torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, size))


def pieces(flat, shapes):
    out, offset = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(flat[offset:offset + n].view(*shape))
        offset += n
    return out


def sine_step_fn():
    shapes = [(1, 40), (40,), (40, 40), (40,), (40, 1), (1,)]
    size = sum(math.prod(s) for s in shapes)
    h = hypernet(64, size)
    opt = torch.optim.Adam(h.parameters(), lr=1e-4)
    task = torch.tensor([[0.3, -0.7]])
    x = torch.linspace(-math.pi, math.pi, 50).view(50, 1)
    y = torch.sin(x + 0.5)

    def step():
        w0, b0, w1, b1, w2, b2 = pieces(h(task)[0], shapes)
        out = torch.tanh(x @ w0 + b0)
        out = torch.tanh(out @ w1 + b1)
        out = out @ w2 + b2
        loss = F.mse_loss(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def mlp784_step_fn():
    shapes = [(784, 256), (256,), (256, 10), (10,)]
    size = sum(math.prod(s) for s in shapes)
    h = hypernet(32, size)
    opt = torch.optim.Adam(h.parameters(), lr=1e-4)
    task = torch.tensor([[0.3, -0.7]])
    x = torch.rand(128, 784)
    y = torch.arange(128) % 10

    def step():
        w1, b1, w2, b2 = pieces(h(task)[0], shapes)
        logits = torch.relu(x @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def median_ms(step, warmup=20, seconds=5.0):
    for _ in range(warmup):
        step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(times)


results = {}
for name, fn in [("sine", sine_step_fn), ("mlp784", mlp784_step_fn)]:
    ms, n = median_ms(fn())
    results[name] = {"median_ms": ms, "samples": n}
config = torch.__config__.show()
match = re.search(r"BLAS_INFO=\w+", config)
blas = match.group(0) if match else "unknown"

print(json.dumps({"results": results, "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "blas": blas}))
