"""The formats a benchmark times: every export target, and the eager fp32 module ("torch") beside them.

The eager module is not an export target (nothing builds it), but benchmarks and tables ask it the same
questions (its precision, whether it is a phone format, how its threads are set, where it runs), so it gets
the same `Facts` as a Target: `facts(name)` answers for either, and no list of format names is kept here.
"""

from __future__ import annotations

from export.registry import PROCESS, Facts, all_targets

EAGER = "torch"
EAGER_FACTS = Facts(runtime="torch", precision="fp32", mobile=False, fp32=None, threads=PROCESS,
                    devices=("cpu", "cuda"))


def format_names() -> list[str]:
    """Every format name, the eager module first, then the export targets in registry order."""
    return [EAGER, *all_targets()]


def format_facts(name: str) -> dict:
    """The spec fields that come from a format's facts."""
    f = facts(name)
    return {"devices": list(f.devices), "mobile": f.mobile, "lossy": f.precision != "fp32"}


def facts(name: str) -> Facts:
    """The facts of a format: the eager module's, or those its export target registered with."""
    return EAGER_FACTS if name == EAGER else all_targets()[name]


# The recurrence limit (bench/limit.py): per runtime, the format its limit runs as, and the model-name suffix
# that names a student's limit ("<student>:recurrence").
LIMIT_FORMATS = {"torch": EAGER, "onnxruntime": "onnx"}
LIMIT_SUFFIX = ":recurrence"
