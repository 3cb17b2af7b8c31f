#!/usr/bin/env python3
"""instructions.py - instructions per run of a benchmark program, counted by
callgrind (valgrind --tool=callgrind): independent of the machine's load,
so differences of a few hundred instructions show.

Runs the command twice under callgrind, with {n} replaced by LOW and by
HIGH, and prints the difference of the two totals divided by HIGH - LOW:
start-up, set-up and warm-up cancel out.

    instructions.py LOW HIGH NAME -- COMMAND... ({n} where the count goes)

Prints `instructions NAME=X low=LOW high=HIGH` (X per run); exits 1 when
valgrind is missing or a run fails (its stderr is shown).
"""
import os
import re
import subprocess
import sys
import tempfile


def count(cmd, n):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + \
            [a.replace("{n}", str(n)) for a in cmd]
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-2000:])
            sys.exit(1)
        with open(out, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    return int(m.group(1))
    sys.stderr.write("instructions.py: no total in callgrind's output\n")
    sys.exit(1)


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.stderr.write(__doc__)
        sys.exit(2)
    low, high, name, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[5:]
    if high <= low:
        sys.stderr.write("instructions.py: HIGH must be above LOW\n")
        sys.exit(2)
    per_run = (count(cmd, high) - count(cmd, low)) / (high - low)
    print(f"instructions {name}={per_run:.0f} low={low} high={high}")


if __name__ == "__main__":
    main()
