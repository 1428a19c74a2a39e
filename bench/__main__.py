"""Run every ``bench/bench_*.py`` module's ``main()`` in turn, or only those named.

python -m bench                 # all of them
python -m bench protocol audio  # bench/bench_protocol.py and bench/bench_audio.py
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    """Module names of the benchmark files next to this one, sorted."""
    return sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    available = discover()
    wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in argv]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    for name in wanted or available:
        module = importlib.import_module(f"bench.{name}")
        print(f"=== {name}", flush=True)
        start = time.perf_counter()
        module.main()
        print(f"=== {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    if not available:
        print("no bench/bench_*.py modules yet")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
