"""Count the instructions one everyday trace costs (500 contacts, 3,000 calls): a figure that does not move with
the machine's load, where wall and CPU times here swing by half from one hour to the next.

Run: .venv/bin/python bench/tracing_instructions.py [--baseline REV] [--traces 3] [--dir /tmp/ft_tracing_bench]

Under valgrind's callgrind (Debian's valgrind) it runs the engine on the bench's everyday inputs twice per tree,
once with no trace and once with --traces traces after the same warm-up, and prints the difference per trace:
every thread's instructions (polars' pool included), the import and warm-up cancelled out. With --baseline it
does the same for that git revision (checked out in a temporary worktree) and prints the ratio. Slow: a few
minutes per tree, the runs side by side on the machine's cores.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tracing_engine import generate  # noqa: E402

RUNNER = """
import functools, os, sys
sys.path.insert(0, os.getcwd())
from backend.tracing.engine import run_trace
contacts, calls = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
def one(_acc=None, _n=None):
    return run_trace(contacts, calls, debtor_numbers=["+8613800000001"], debtor_name="张小明", default_region="CN",
                     policy={"timezone": "Asia/Shanghai"})
one(); one()
functools.reduce(one, range(int(sys.argv[3])), None)
"""


def inputs(directory: Path) -> tuple[Path, Path]:
    """The everyday inputs bench/tracing.py uses: its 3,000 calls (seed 2) and the first 500 entries of the
    large data set's phone book (generated once into --dir, as bench/tracing.py does)."""
    big_contacts, _ = generate(directory, 1_000_000)
    _, calls = generate(directory / "everyday", 3000, seed=2)
    contacts = directory / "everyday" / "contacts_500.csv"
    contacts.write_bytes(b"\n".join(big_contacts.read_bytes().splitlines()[:501]) + b"\n")
    return contacts, calls


def instructions(tree: Path, contacts: Path, calls: Path, traces: int, scratch: Path) -> float:
    """Instructions per trace in this source tree: (runs with `traces` traces - runs with none) / traces."""
    runner = scratch / "runner.py"
    runner.write_text(RUNNER)
    processes = {}
    for count in (0, traces):
        out = scratch / f"callgrind.{tree.name}.{count}"
        processes[count] = (out, subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(runner),
             str(contacts), str(calls), str(count)], cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    totals = {}
    for count, (out, process) in processes.items():
        if process.wait() != 0:
            raise SystemExit(f"valgrind failed in {tree} ({count} traces)")
        totals[count] = int(re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE).group(1))
    return (totals[traces] - totals[0]) / traces


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="a git revision to compare with (e.g. main~5)")
    parser.add_argument("--traces", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ft_tracing_bench"))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    with tempfile.TemporaryDirectory(prefix="ft_instructions_") as scratch:
        scratch = Path(scratch)
        contacts, calls = inputs(args.dir)
        trees = {"this tree": ROOT}
        if args.baseline:
            baseline = scratch / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(baseline), args.baseline],
                           check=True)
            trees[f"baseline {args.baseline}"] = baseline
        try:
            counted = {name: instructions(tree, contacts, calls, args.traces, scratch) for name, tree in trees.items()}
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch / "baseline")],
                               check=False)
    print(f"Python {sys.version.split()[0]}, everyday trace (500 contacts, 3,000 calls), {args.traces} traces per "
          f"tree, all threads, valgrind {subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip()}")
    for name, count in counted.items():
        print(f"{name}: {count / 1e6:,.1f} M instructions per trace")
    if args.baseline:
        this, base = counted["this tree"], counted[f"baseline {args.baseline}"]
        print(f"this tree / baseline: {this / base:.3f} ({(this - base) / base:+.1%})")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
