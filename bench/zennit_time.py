#!/usr/bin/python3
"""
Times Zennit's EpsilonGammaBox on a torchvision classifier (CPU, random weights) for `npm run bench`:
prints one JSON line {model, threads, processToFirstMs, firstMs, warmMs, forwardMs}. processToFirstMs
counts from the script's first line (imports, model build) to the first heatmap.
With RUNS 0 and OUT: one explanation, its heatmap written to OUT (.npy), then the process ends, as the
CLI's `explain` does: what the bench times from spawn to exit (the interpreter's start and torch's
teardown, 0.26–0.36 s together on ResNet-50, are part of a fresh process's time as they are of the CLI's).
Zennit is not vendored: ZENNIT_SRC names its source tree (e.g. a `git archive 0.5.1` of chr5tphr/zennit),
imported on Debian's python3-torch / python3-torchvision.
  usage: ZENNIT_SRC=DIR/src /usr/bin/python3 bench/zennit_time.py MODEL [THREADS] [RUNS] [OUT]
"""
import json
import os
import sys
import time

T_START = time.perf_counter()
sys.path.insert(0, os.environ.get('ZENNIT_SRC', ''))

import torch  # noqa: E402
import torchvision.models as tvm  # noqa: E402
from zennit.composites import EpsilonGammaBox  # noqa: E402
from zennit.torchvision import ResNetCanonizer, VGGCanonizer  # noqa: E402
from zennit.attribution import Gradient  # noqa: E402


def main():
    name = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(tvm, name)().eval()
    canon = [ResNetCanonizer()] if name.startswith('res') else [VGGCanonizer()]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    low, high = (0 - mean) / std, (1 - mean) / std
    x = torch.randn(1, 3, 224, 224)
    composite = EpsilonGammaBox(low=low.expand_as(x), high=high.expand_as(x), canonizers=canon)

    def explain():
        with Gradient(model=model, composite=composite) as attributor:
            out, rel = attributor(x, lambda y: torch.eye(1000)[[int(y.argmax())]] * y)
        return rel

    t = time.perf_counter()
    rel = explain()
    first = time.perf_counter() - t
    process_to_first = time.perf_counter() - T_START
    if runs == 0:
        # the CLI's one explanation: the heatmap to a file, then the end of the process
        import numpy as np
        np.save(sys.argv[4], rel.detach().numpy())
        print(json.dumps({'model': name, 'threads': threads, 'processToFirstMs': process_to_first * 1e3, 'firstMs': first * 1e3}))
        return
    warm = []
    for _ in range(runs):
        t = time.perf_counter()
        explain()
        warm.append(time.perf_counter() - t)
    fwd = []
    with torch.no_grad():
        for _ in range(runs):
            t = time.perf_counter()
            model(x)
            fwd.append(time.perf_counter() - t)
    warm.sort()
    fwd.sort()
    print(json.dumps({
        'model': name, 'threads': threads, 'processToFirstMs': process_to_first * 1e3, 'firstMs': first * 1e3,
        'warmMs': warm[len(warm) // 2] * 1e3, 'forwardMs': fwd[len(fwd) // 2] * 1e3,
    }))


if __name__ == '__main__':
    main()
