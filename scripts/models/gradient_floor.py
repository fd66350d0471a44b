#!/usr/bin/python3
"""
How close can two float32 implementations of a gradient be on a real network? For each case that
`npm run agreement -- --save DIR` wrote (MODEL.PHOTO.METHOD.{input,wasm,onnx}.npy, METHOD gradient or
gradient-x-input), this recomputes the explained logit's gradient in PyTorch from the same weights
(scripts/models/export_torchvision.py's seeded build) in float64 and in float32 with one and two threads,
in float32 without oneDNN, and in float32 with the input moved by about one ulp, and prints
|a − b| / max|float64| for every pair: its maximum, 99th percentile and the count of values
over 1e-4.

Why: a ReLU whose input, or a max-pool window whose two largest entries, lie within float32 rounding of each
other routes the gradient differently in any two float32 implementations (different summation orders), and
the whole receptive field behind that unit moves. PyTorch against itself (1 vs 2 threads) and against float64
shows how large that floor is for the model and photo; our backends are judged against it.

  usage: /usr/bin/python3 scripts/models/gradient_floor.py DIR   (Debian python3-torch, python3-torchvision)
"""
import glob
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torchvision as ex  # noqa: E402  (the same seeded weights as the ONNX files)


def seeded_model(name):
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ex.build(name)
    ex.randomize_norms(model, rng)
    return model


def gradient(model, hwc, dtype, threads, cls, times_input):
    torch.set_num_threads(threads)
    m = model.to(dtype)
    x = torch.from_numpy(hwc.transpose(2, 0, 1)[None].copy()).to(dtype).requires_grad_(True)
    y = m(x)
    c = int(y[0].argmax()) if cls is None else cls
    y[0, c].backward()
    g = x.grad[0].permute(1, 2, 0).double().numpy()
    return (g * hwc if times_input else g), c


def compare(results, scale):
    keys = list(results)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            d = np.abs(results[a] - results[b]) / scale
            print(f'  {a:>15} vs {b:<15} max {d.max():.2e}  p99 {np.quantile(d, 0.99):.2e}  over 1e-4: {(d > 1e-4).sum()}')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    root = sys.argv[1]
    models = {}
    cases = sorted(glob.glob(os.path.join(root, '*.input.npy')))
    cases = [c for c in cases if c.split('.')[-3] in ('gradient', 'gradient-x-input')]
    if not cases:
        sys.exit(f'{root}: no gradient or gradient-x-input cases (run npm run agreement -- --save {root})')
    for case in cases:
        stem = case[:-len('.input.npy')]
        name, method = os.path.basename(stem).split('.')[0], stem.split('.')[-1]
        if name not in models:
            models[name] = seeded_model(name)
        hwc = np.load(case).astype(np.float32)
        g64, cls = gradient(models[name], hwc.astype(np.float64), torch.float64, 2, None, method == 'gradient-x-input')
        results = {'torch float64': g64}
        gx = method == 'gradient-x-input'
        for threads in (1, 2):
            results[f'torch f32 {threads}thr'] = gradient(models[name], hwc, torch.float32, threads, cls, gx)[0]
        torch.backends.mkldnn.enabled = False  # PyTorch's other float32 convolution (no oneDNN)
        results['torch f32 no-dnn'] = gradient(models[name], hwc, torch.float32, 2, cls, gx)[0]
        torch.backends.mkldnn.enabled = True
        # the input moved by about one float32 ulp (relative 1e-7, seeded): how chaotic the map is
        ulp = np.random.default_rng(0).standard_normal(hwc.shape) * 1e-7
        results['torch f32 x~1ulp'] = gradient(models[name], (hwc * (1 + ulp)).astype(np.float32), torch.float32, 2, cls, gx)[0]
        for backend in ('wasm', 'onnx'):
            results[backend] = np.load(f'{stem}.{backend}.npy').astype(np.float64).reshape(g64.shape)
        print(f'{os.path.basename(stem)} (class {cls}):')
        compare(results, np.abs(g64).max())


if __name__ == '__main__':
    main()
