"""`distill-bench` command line: one module per command group, at the top of the import layers.

    distill-bench pipeline --preset quick                  # whole pipeline, small scale, ~5 min on 2 cores
    distill-bench pipeline --preset sst2-paper --run-id sst2-paper
    distill-bench split    --task mnli --out runs/x/data   # MNLI/QQP here: split dev, then --task mnli --train …
    distill-bench teacher  --task sst2 --out runs/x/teacher
    distill-bench augment  --task sst2 --out runs/x/transfer.tsv
    distill-bench label    --teacher runs/x/teacher/model --transfer runs/x/transfer.tsv --out runs/x/logits
    distill-bench student  --task sst2 --transfer runs/x/transfer.tsv --logits runs/x/logits --out runs/x/s
    distill-bench export RUN · predict ARTIFACT TEXT …    (distill_bench/exporting.py)
    distill-bench report RESULTS · ship RESULTS …         (distill_bench/benching.py)

Data-parallel on one or many machines (teacher, label, student, pipeline; gloo on CPU, NCCL on GPUs):
    torchrun --nproc_per_node=4 -m distill_bench pipeline --preset sst2-paper

Each command module registers its subcommands with `set_defaults(handler=handler, writes=folder_of_args,
parallel=bool)`: `main` holds the folder a command writes, joins torchrun's process group for the data-parallel
ones, and turns a UserError into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from distill import dist
from distill.errors import UserError
from distill.io import exclusive
from distill_bench import benching, exporting, stages

GROUPS = (stages, exporting, benching)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distill-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for user errors")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        folder = args.writes(args)
        if folder is None:
            return _distributed(args)
        with exclusive(folder):  # a second command writing the same folder at once is refused
            return _distributed(args)
    except UserError as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _distributed(args) -> int:
    """Under torchrun, join the process group around the commands that run data-parallel (distill/dist.py)."""
    if dist.world_size() == 1:
        return args.handler(args) or 0
    if args.parallel is None:
        raise UserError(f"`{args.command}` runs as one process, not under torchrun")
    dist.init()
    try:
        if args.parallel == "rank0":  # nothing to share out: rank 0 writes, the others wait
            with dist.main_first():
                code = (args.handler(args) or 0) if dist.is_main() else 0
        else:
            code = args.handler(args) or 0
    except BaseException:
        dist.shutdown(together=False)
        raise
    dist.shutdown()
    return code
