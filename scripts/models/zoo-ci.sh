#!/usr/bin/env bash
# The part of the model zoo that CI runs (.ci/run, after `npm test`; `npm run zoo:ci` builds first): small
# members of torchvision's families, among them every family of issue 9's table (GoogLeNet, ShuffleNetV2,
# ConvNeXt, ViT, Swin), exported by export_torchvision.py with Debian's PyTorch and checked by out/scripts/zoo.js:
# loads, |logit − PyTorch's| ≤ 1e-4, every composite and method runs (all of them on two CNNs, the
# transformer composites on the transformers), the conservation table closes, onnx = wasm where --onnx is given.
# Exports go to $RELEVANCE_LENS_ZOO or ~/.cache/relevance-lens/zoo (kept between runs); reports to test-output/zoo/.
# ResNet-50 is not exported here: the integration suite times its rule change only when that cache holds it.
# Runs every model, then exits 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f out/scripts/zoo.js ] || { echo "zoo-ci: out/scripts/zoo.js missing (npm run build && npm run compile-tests)" >&2; exit 1; }
bash scripts/models/ensure-python.sh
DIR=${RELEVANCE_LENS_ZOO:-$HOME/.cache/relevance-lens/zoo}

# model | composites (all: every one) | methods (all: every one) | --onnx: the compiled path against wasm
PLAN=(
  'mobilenet_v3_small|all|all|--onnx'
  'shufflenet_v2_x0_5|all|all|'
  'googlenet|epsilon-gamma-box,z-plus|gradient,guided-backprop,deep-taylor|--onnx'
  'resnet18|epsilon-plus-flat,alpha-beta-nobias|gradient-x-input,deconvnet|'
  'efficientnet_b0|epsilon-gamma-box-dw-wsquare-nobias|gradient,deep-taylor,pattern-attribution|'
  'convnext_tiny|attn-lrp,cp-lrp|gradient,pattern-net|'
  'vit_narrow|attn-lrp,attn-lrp-gamma,cp-lrp,cp-lrp-gamma,attn-lrp-gamma-nobias,cp-lrp-gamma-nobias,epsilon-gamma-box|all|--onnx'
  'swin_narrow|attn-lrp,cp-lrp,epsilon-plus|gradient,deep-taylor,pattern-attribution|--onnx'
  # the issue's own ViT-B/16 and Swin-T at full size, default composite and gradient (~1 min each on 2 cores)
  'vit_b_16|attn-lrp|gradient|--onnx'
  'swin_t|attn-lrp|gradient|--onnx'
)
models=$(printf '%s\n' "${PLAN[@]}" | cut -d'|' -f1 | paste -sd,)
# (the tracer's warnings about Python control flow in torchvision's code are silenced)
PYTHONWARNINGS=ignore /usr/bin/python3 scripts/models/export_torchvision.py --models "$models" --out "$DIR"

mkdir -p test-output/zoo
failed=()
for row in "${PLAN[@]}"; do
  IFS='|' read -r model composites methods onnx <<< "$row"
  args=(--dir "$DIR" --models "$model" --out "test-output/zoo/$model.json")
  [ "$composites" = all ] || args+=(--composites "$composites")
  [ "$methods" = all ] || args+=(--methods "$methods")
  [ -z "$onnx" ] || args+=("$onnx")
  start=$SECONDS
  echo "zoo-ci: $model"
  node out/scripts/zoo.js "${args[@]}" 2>"test-output/zoo/$model.log" || failed+=("$model")
  echo "zoo-ci: $model $((SECONDS - start)) s (log test-output/zoo/$model.log)"
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "zoo-ci: checks failed on ${failed[*]} (the FAILED lines above; logs in test-output/zoo/)" >&2
  exit 1
fi
echo "zoo-ci: all checks passed on ${#PLAN[@]} models"
