#!/usr/bin/python3
"""
Writes torchvision's image classifiers (random weights, seeded) to ONNX for the benchmarks and the
model-zoo checks. Per model NAME, into DIR:

  NAME.onnx           torch.onnx.export, opset 13 (weights as initializers, NCHW input 'x', output 'y')
  NAME.input.npy      the seeded test input, float32 HWC (already normalised: the CLI takes .npy as given)
  NAME.logits.npy     PyTorch's logits for it, float32 [1000]
  NAME.lens.json      a model card (input size, ImageNet mean/std) so the CLI can open the file directly

Random weights would make BatchNorm an identity-like no-op, which hides folding bugs: every BatchNorm
gets non-trivial statistics and affine parameters. Outputs are written to a temporary name and renamed,
so a concurrent or interrupted run never leaves a half-written file; existing outputs are kept
(pass --force to rewrite).

Needs Debian's python3-torch, python3-torchvision, python3-onnx (apt-get install).
  usage: /usr/bin/python3 scripts/models/export_torchvision.py [--models a,b,...|all] [--out DIR] [--force]
  default DIR: $RELEVANCE_LENS_ZOO or ~/.cache/relevance-lens/zoo; default models: vgg16,resnet50
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision.models as tvm
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

# Every architecture family of torchvision 0.14's classification table (one representative each,
# plus the two benchmark nets). Input side 224 except Inception-v3 (299).
FAMILIES = [
    'alexnet', 'vgg16', 'resnet18', 'resnet50', 'resnext50_32x4d', 'wide_resnet50_2', 'squeezenet1_1',
    'densenet121', 'inception_v3', 'googlenet', 'shufflenet_v2_x1_0', 'mobilenet_v2', 'mobilenet_v3_small',
    'mobilenet_v3_large', 'mnasnet1_0', 'efficientnet_b0', 'efficientnet_v2_s', 'regnet_y_400mf',
    'convnext_tiny', 'vit_b_16', 'swin_t',
]
SIDE = {'inception_v3': 299, 'vit_narrow': 112}
# Narrow members of the two transformer families for the CI subset of the zoo (scripts/models/zoo-ci.sh), built
# from torchvision's own classes: the same modules and export as vit_b_16 / swin_t, fewer and thinner layers.
# torchvision's smallest ViT and Swin take minutes per composite on wasm on 2 cores; the ViT's patch embedding
# (a 16 x 16 stride-16 conv) is what its backward pass spends on, so it sees a 112 x 112 input (7 x 7 patches).
NARROW = {
    'vit_narrow': lambda: VisionTransformer(image_size=112, patch_size=16, num_layers=2, num_heads=3, hidden_dim=192,
                                            mlp_dim=768),
    'swin_narrow': lambda: SwinTransformer(patch_size=[4, 4], embed_dim=48, depths=[2, 2, 2, 2],
                                           num_heads=[3, 6, 12, 24], window_size=[7, 7], stochastic_depth_prob=0.0),
}
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def randomize_norms(model, rng):
    """Non-trivial running statistics and affine parameters on every BatchNorm (and LayerNorm affine); zero Linear weights (ViT's head) random."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.tensor(rng.uniform(-0.2, 0.2, c), dtype=torch.float32))
                m.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, c), dtype=torch.float32))
                if m.affine:
                    m.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, c), dtype=torch.float32))
                    m.bias.copy_(torch.tensor(rng.uniform(-0.3, 0.3, c), dtype=torch.float32))
            elif isinstance(m, torch.nn.Linear) and not m.weight.abs().sum():
                # ViT's head starts at zero (every logit 0, nothing to explain): seeded random weights
                m.weight.copy_(torch.tensor(rng.normal(0, 0.02, tuple(m.weight.shape)), dtype=torch.float32))
            elif isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                shape = tuple(m.weight.shape)
                m.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, shape), dtype=torch.float32))
                m.bias.copy_(torch.tensor(rng.uniform(-0.3, 0.3, shape), dtype=torch.float32))


def build(name):
    if name in NARROW:
        return NARROW[name]().eval()
    kwargs = {'weights': None}
    if name in ('inception_v3', 'googlenet'):
        kwargs.update(aux_logits=False, init_weights=True)
    return getattr(tvm, name)(**kwargs).eval()


def test_input(side, rng):
    """A smooth seeded 'image' in [0, 1] (low-frequency pattern plus noise), normalised like ImageNet."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(3)], axis=-1)
    img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    return ((img - MEAN) / STD).astype(np.float32)  # HWC


def save_atomic(path, write):
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def export_one(name, out, force):
    onnx_path = os.path.join(out, f'{name}.onnx')
    if os.path.exists(onnx_path) and not force:
        print(f'{name}: kept {onnx_path}')
        return
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(name)
    randomize_norms(model, rng)
    side = SIDE.get(name, 224)
    hwc = test_input(side, rng)
    x = torch.from_numpy(hwc.transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        logits = model(x)[0].numpy().astype(np.float32)
    card = {'description': f'torchvision {name}, random weights (seed {seed}), written by '
                           'scripts/models/export_torchvision.py',
            'input': {'height': side, 'width': side, 'channels': 3, 'channelOrder': 'rgb', 'resize': 'bilinear',
                      'scaling': {'mean': MEAN, 'std': STD}}}
    save_atomic(os.path.join(out, f'{name}.input.npy'), lambda p: np.save(open(p, 'wb'), hwc))
    save_atomic(os.path.join(out, f'{name}.logits.npy'), lambda p: np.save(open(p, 'wb'), logits))
    save_atomic(os.path.join(out, f'{name}.lens.json'), lambda p: open(p, 'w').write(json.dumps(card, indent=2)))
    save_atomic(onnx_path, lambda p: torch.onnx.export(
        model, x, p, input_names=['x'], output_names=['y'], opset_version=13, do_constant_folding=True))
    print(f'{name}: wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB), input {side}x{side}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--models', default='vgg16,resnet50', help="comma-separated names or 'all'")
    ap.add_argument('--out', default=os.environ.get('RELEVANCE_LENS_ZOO',
                                                    os.path.expanduser('~/.cache/relevance-lens/zoo')))
    ap.add_argument('--force', action='store_true')
    args = ap.parse_args()
    names = FAMILIES if args.models == 'all' else [n for n in args.models.split(',') if n]
    unknown = [n for n in names if not hasattr(tvm, n) and n not in NARROW]
    if unknown:
        sys.exit(f'export_torchvision: unknown model(s) {", ".join(unknown)}; known: {", ".join(FAMILIES + list(NARROW))}')
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in names:
        export_one(name, args.out, args.force)


if __name__ == '__main__':
    main()
