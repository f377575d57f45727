#!/usr/bin/env bash
# Install distill-bench into ./.venv, then run the quick preset (pass --no-run to only install).
#   bash install.sh            # install + `distill-bench pipeline --preset quick` (~5 min on 2 cores)
#   bash install.sh --no-run   # install only (what CI does)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -d .venv ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned: any later resolve then keeps this CPU build instead of pulling a CUDA one.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[dev]"
export HF_HUB_OFFLINE=1
if [ "${1:-}" != "--no-run" ]; then
  distill-bench pipeline --preset quick
fi
