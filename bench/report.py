#!/usr/bin/env python3
"""Turns the JSON of bench/compare.sh into its Markdown table: medians and ratios for the defaults and the tuned pass.

Usage: report.py JMH_DEFAULT JMH_TUNED JMH_SCALING [TORCH_DEFAULT TORCH_ONE_THREAD [MAML_DEFAULT MAML_ONE_THREAD]]
The first JMH file holds the run with ND4J's and the JVM's defaults, the second the tuned run (OMP_NUM_THREADS=1,
-Xmn16m); the PyTorch files the reference run with the default pass's thread count and with one thread
(torch_reference.py, then maml_reference.py bench).
"""
import json
import sys


def median(entry):
    return entry["primaryMetric"]["scorePercentiles"]["50.0"]


def load_jmh(path):
    runs = {}
    for e in json.load(open(path)):
        cls, method = e["benchmark"].rsplit(".", 2)[-2:]
        runs[(cls, method, tuple(sorted(e.get("params", {}).items())))] = median(e)
    return runs


def load_torch(path):
    return json.load(open(path)) if path else None


def find(runs, cls, method, **params):
    for (c, m, p), value in runs.items():
        if c == cls and m == method and all(dict(p).get(k) == v for k, v in params.items()):
            return value
    return None


def fmt(v):
    return f"{v:.3f}" if v is not None else "n/a"


def cells(measured, reference):
    ratio = f"**{measured / reference:.2f}**" if measured is not None and reference else "n/a"
    return f"{fmt(measured)} | {fmt(reference)} | {ratio}"


args = sys.argv[1:] + [""] * (7 - len(sys.argv[1:]))
default, tuned, scaling = load_jmh(args[0]), load_jmh(args[1]), load_jmh(args[2])
torch_default, torch_one = load_torch(args[3]), load_torch(args[4])
maml_default, maml_one = load_torch(args[5]), load_torch(args[6])
passes = [(default, (torch_default, maml_default)), (tuned, (torch_one, maml_one))]

out = ["| comparison | defaults: measured ms | reference ms | ratio "
       "| tuned (one thread, -Xmn16m): measured ms | reference ms | ratio | target |",
       "| --- | --- | --- | --- | --- | --- | --- | --- |"]


def row(label, target, measure):
    out.append(f"| {label} | " + " | ".join(cells(*measure(*p)) for p in passes) + f" | {target} |")


for method in ["forward", "trainStep"]:
    row(f"SameDiff MLP {method}: upstream vs plain", "<= 1.05",
        lambda runs, _t, m=method: (find(runs, "MutabilityBenchmark", m, variant="upstream"),
                                    find(runs, "MutabilityBenchmark", m, variant="plain")))
    row(f"SameDiff MLP {method}: upstream vs the same graph built by hand", "",
        lambda runs, _t, m=method: (find(runs, "MutabilityBenchmark", m, variant="upstream"),
                                    find(runs, "MutabilityBenchmark", m, variant="handFed")))
for model in ["mlp", "cnn"]:
    for method in ["output", "trainStep"]:
        row(f"DL4J {model} {method}: converted vs native", "<= 0.8" if model == "mlp" else "<= 1.0",
            lambda runs, _t, m=method, mo=model: (find(runs, "Dl4jComparisonBenchmark", m, model=mo, impl="converted"),
                                                  find(runs, "Dl4jComparisonBenchmark", m, model=mo, impl="native")))
for model, target in [("sine", "<= 0.7"), ("mlp784", "<= 0.6")]:
    row(f"hypernetwork step {model}: Java vs PyTorch", target,
        lambda runs, torch, mo=model: (find(runs, "HypernetworkBenchmark", "trainStep", model=mo, execution="plan"),
                                       torch[0]["results"][mo]["median_ms"] if torch[0] else None))
row("MAML meta-step (second order): Java vs PyTorch", "<= 1.5",
    lambda runs, torch: (find(runs, "MamlBenchmark", "metaStep", order="second", execution="plan", model="sine"),
                         torch[1]["maml_step_median_ms"] if torch[1] else None))
row("MAML meta-step, convolutional (second order): Java vs PyTorch", "<= 2",
    lambda runs, torch: (find(runs, "MamlBenchmark", "metaStep", order="second", execution="plan", model="conv"),
                         torch[1].get("conv_step_median_ms") if torch[1] else None))
for model, target in [("sine", "<= 0.3"), ("mlp784", "")]:
    row(f"hypernetwork step {model}: plans vs SameDiff's session", target,
        lambda runs, _t, mo=model: (find(runs, "HypernetworkBenchmark", "trainStep", model=mo, execution="plan"),
                                    find(runs, "HypernetworkBenchmark", "trainStep", model=mo, execution="session")))
for model in ["sine", "conv"]:
    for order, target in [("second", "<= 0.15" if model == "sine" else ""), ("first", "")]:
        row(f"MAML meta-step {model} ({order} order): plans vs SameDiff's session", target,
            lambda runs, _t, o=order, mo=model: (
                find(runs, "MamlBenchmark", "metaStep", order=o, execution="plan", model=mo),
                find(runs, "MamlBenchmark", "metaStep", order=o, execution="session", model=mo)))

out += ["", "| scaling (defaults, single shot) | median ms | target |", "| --- | --- | --- |"]
for layers in ["10", "100", "1000"]:
    target = "< 2000" if layers == "1000" else ""
    out.append(f"| convert an MLP of {layers} layers | {fmt(find(scaling, 'ScalingBenchmark', 'convert', layers=layers))} | {target} |")
out.append(f"| build 10,000 chained mutations | {fmt(find(scaling, 'ScalingBenchmark', 'build10000ChainedMutations', layers='10'))} | linear |")
out.append(f"| execute 10,000 chained mutations | {fmt(find(scaling, 'ScalingBenchmark', 'execute10000ChainedMutations', layers='10'))} | |")
for label, torch in [("defaults pass", torch_default), ("tuned pass", torch_one),
                     ("defaults pass, MAML", maml_default), ("tuned pass, MAML", maml_one)]:
    if torch:
        out.append("")
        out.append(f"PyTorch ({label}): {torch['torch']}, {torch['threads']} threads, {torch['blas']}.")
# Steadiness: the 90th percentile against the median of every JMH sample-time benchmark, in each pass.
out += ["", "| benchmark | defaults: p50 ms | p90 ms | p90 / p50 | tuned: p50 ms | p90 ms | p90 / p50 | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |"]
spread = [{}, {}]
for i, path in enumerate(args[:2]):
    for e in json.load(open(path)):
        pct = e["primaryMetric"].get("scorePercentiles", {})
        if "90.0" in pct and e.get("mode") == "sample":
            name = e["benchmark"].rsplit(".", 2)[-2] + "." + e["benchmark"].rsplit(".", 1)[-1]
            params = ",".join(f"{k}={v}" for k, v in sorted(e.get("params", {}).items()))
            spread[i][f"{name}({params})"] = (pct["50.0"], pct["90.0"])
for key in spread[0]:
    row_cells = []
    for i in range(2):
        p50, p90 = spread[i].get(key, (None, None))
        row_cells.append(f"{fmt(p50)} | {fmt(p90)} | " + (f"**{p90 / p50:.2f}**" if p50 else "n/a"))
    out.append(f"| {key} | " + " | ".join(row_cells) + " | <= 2 |")
print("\n".join(out))
