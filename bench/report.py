#!/usr/bin/env python3
"""Turns JMH's JSON (and PyTorch's, if given) into the Markdown table of bench/compare.sh: medians and ratios."""
import json
import sys


def median(entry):
    return entry["primaryMetric"]["scorePercentiles"]["50.0"]


def key(entry):
    name = entry["benchmark"].rsplit(".", 2)
    params = entry.get("params", {})
    return name[-2], name[-1], tuple(sorted(params.items()))


jmh = {key(e): e for e in json.load(open(sys.argv[1]))}
torch = json.load(open(sys.argv[2])) if len(sys.argv) > 2 and sys.argv[2] else None
rows = []


def find(cls, method, **params):
    for (c, m, p), e in jmh.items():
        if c == cls and m == method and all(dict(p).get(k) == v for k, v in params.items()):
            return median(e)
    return None


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def fmt(v):
    return f"{v:.3f}" if v is not None else "n/a"


out = ["| comparison | measured (median ms) | reference (median ms) | ratio | target |", "| --- | --- | --- | --- | --- |"]
for method in ["forward", "trainStep"]:
    plain = find("MutabilityBenchmark", method, variant="plain")
    for variant in ["mutable", "upstream"]:
        v = find("MutabilityBenchmark", method, variant=variant)
        out.append(f"| SameDiff MLP {method}: {variant} vs plain | {fmt(v)} | {fmt(plain)} | {ratio(v, plain)} | <= 1.05 |")
for model in ["mlp", "cnn"]:
    for method in ["output", "trainStep"]:
        native = find("Dl4jComparisonBenchmark", method, model=model, impl="native")
        conv = find("Dl4jComparisonBenchmark", method, model=model, impl="converted")
        out.append(f"| DL4J {model} {method}: converted vs native | {fmt(conv)} | {fmt(native)} | {ratio(conv, native)} | <= 1.0 |")
for model in ["sine", "mlp784"]:
    java = find("HypernetworkBenchmark", "trainStep", model=model)
    ref = torch["results"][model]["median_ms"] if torch else None
    out.append(f"| hypernetwork step {model}: Java vs PyTorch | {fmt(java)} | {fmt(ref)} | {ratio(java, ref)} | <= 1.0 |")
for layers in ["10", "100", "1000"]:
    v = find("ScalingBenchmark", "convert", layers=layers)
    out.append(f"| convert an MLP of {layers} layers | {fmt(v)} | | | 1000 layers < 2000 ms |")
out.append(f"| build 10,000 chained mutations | {fmt(find('ScalingBenchmark', 'build10000ChainedMutations', layers='10'))} | | | linear |")
out.append(f"| execute 10,000 chained mutations | {fmt(find('ScalingBenchmark', 'execute10000ChainedMutations', layers='10'))} | | | |")
if torch:
    out.append("")
    out.append(f"PyTorch {torch['torch']}, {torch['threads']} threads, {torch['blas']}.")
print("\n".join(out))
