"""`python -m benchmarks NAME [options]` runs `benchmarks/bench_NAME.py`; `python -m benchmarks all` runs each.

A benchmark is a module named `bench_<name>` with `main(argv) -> int | None`
(0 or None: done; anything else: a check failed). `all` runs every one with
its default options, in name order, and fails if any failed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

PREFIX = "bench_"


def benchmark_names() -> list[str]:
    package_dir = Path(__file__).resolve().parent
    return sorted(m.name.removeprefix(PREFIX) for m in pkgutil.iter_modules([str(package_dir)])
                  if m.name.startswith(PREFIX))  # fmt: skip


def run_benchmark(name: str, argv: Sequence[str]) -> int:
    module = importlib.import_module(f"{__package__}.{PREFIX}{name}")
    return module.main(list(argv)) or 0


def run_all() -> int:
    failed = []
    for name in benchmark_names():
        print(f"\n## {name}\n", flush=True)
        if run_benchmark(name, []) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed checks in: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def usage() -> str:
    names = " | ".join(benchmark_names())
    return f"usage: python -m benchmarks {{all | {names}}} [options]   ('python -m benchmarks NAME --help' for options)"


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "all":
        return run_all()
    if name not in benchmark_names():
        print(f"no benchmark named {name!r}\n{usage()}", file=sys.stderr)
        return 2
    return run_benchmark(name, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
