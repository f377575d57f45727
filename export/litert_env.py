"""Where the LiteRT converter lives: its own virtualenv, because litert-torch pins typing-extensions and
pydantic versions that clash with the main environment (`bash install.sh --with-litert` makes it).

The interpreter (ai-edge-litert) installs cleanly in the main environment, so running and validating a
.tflite happens here; only conversion crosses into the other env, through export/litert_convert.py.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DISTILL_LITERT_PYTHON"
DEFAULT = Path(__file__).resolve().parent.parent / ".venv-litert" / "bin" / "python"
CONVERTER = Path(__file__).resolve().parent / "litert_convert.py"


def litert_python(explicit: str | None = None) -> Path | None:
    """The converter env's python: --litert-python, then $DISTILL_LITERT_PYTHON, then .venv-litert/."""
    for candidate in (explicit, os.environ.get(ENV_VAR), DEFAULT):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None
