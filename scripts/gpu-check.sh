#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the project installed with a CUDA build of torch
# (PYTHON points at that interpreter; default .venv/bin/python): the device-parametrised tests
# on CUDA, the engine benchmark on the GPU, and MICO's CIFAR-10 track projected there
# (mico_cifar_gpu_hours). Finishes in about 3 to 5 minutes on one H200.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export DJANGO_DEBUG=true PYTHONUNBUFFERED=1   # the zoo's tests need no database or key
"$PY" - <<'PYCODE'
import torch
assert torch.cuda.is_available(), "torch sees no CUDA GPU: install a CUDA build of torch"
print(f"gpu: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
      f"bf16 {torch.cuda.is_bf16_supported()}")
PYCODE
echo "== tests on cuda"
"$PY" -m pytest -q -p no:cacheprovider -k cuda tests/zoo tests/attacks/test_bundle.py
echo "== bench/zoo.py --device cuda --cifar"
"$PY" bench/zoo.py --device cuda --repeat 2 --n 51200 --models 32 --cifar
