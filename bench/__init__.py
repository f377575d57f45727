"""The benchmark suite: `pytest bench --run-dir RUN …` times every artifact of a run with pytest-benchmark.

See bench/README.md for the commands; bench/report.py turns a results folder's summary.json into tables.
"""
