"""`python -m bench` (or `make bench`): every benchmark in turn, each printing its figures and ratios."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("ingest", "hook", "tracer", "lineage", "analytics", "soak")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
