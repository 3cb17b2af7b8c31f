#!/usr/bin/env python3
"""coldstart.py - wall time and peak RSS of whole processes, round robin.

Each command runs as a fresh process under TIMEIT (bench/lib/timeit.c, built
by bench/run), which spawns it with stdout and stderr to files in OUTDIR,
reaps it with wait4 and reports the wall time from spawn to reap and the
child's peak resident set (ru_maxrss). The commands take turns, one run
each, K times, so load from elsewhere on the machine falls on all of them
alike. The CPU this script is pinned to (taskset) is inherited.

    coldstart.py TIMEIT K OUTDIR NAME ARGV... [--- NAME ARGV...]...

Prints one JSON line per command whose runs all succeeded: {"contender":
NAME, "runs": K, "wall_ms": median, "wall_ms_runs": [...], "peak_rss_kib":
median, "peak_rss_kib_runs": [...]}. A command that fails is dropped from
the rotation; its name, exit status and the end of its stderr go to stderr,
and the exit status is 1.
"""
import json
import os
import statistics
import subprocess
import sys


def groups(args):
    group = []
    for a in args + ["---"]:
        if a == "---":
            if group:
                yield group[0], group[1:]
            group = []
        else:
            group.append(a)


def run_once(timeit, name, argv, outdir):
    out, err = os.path.join(outdir, name + ".stdout"), os.path.join(outdir, name + ".stderr")
    done = subprocess.run([timeit, out, err] + argv, capture_output=True, text=True)
    figs = dict(kv.split("=", 1) for kv in done.stdout.split())
    if done.returncode or figs.get("status") != "0":
        with open(err, errors="replace") as f:
            tail = f.read()[-400:].strip()
        raise RuntimeError(f"{name}: {' '.join(argv)} exited with status "
                           f"{figs.get('status', '?')}: {tail or done.stderr.strip()}")
    return float(figs["wall_ms"]), int(figs["peak_rss_kib"])


def main():
    timeit, runs, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    commands = list(groups(sys.argv[4:]))
    walls = {name: [] for name, _ in commands}
    rss = {name: [] for name, _ in commands}
    failed = {}
    for _ in range(runs):
        for name, argv in commands:
            if name in failed:
                continue
            try:
                w, r = run_once(timeit, name, argv, outdir)
            except (RuntimeError, OSError) as e:
                failed[name] = str(e)
                continue
            walls[name].append(round(w, 3))
            rss[name].append(r)
    for name, _ in commands:
        if name not in failed:
            print(json.dumps({"contender": name, "runs": runs,
                              "wall_ms": round(statistics.median(walls[name]), 3),
                              "wall_ms_runs": walls[name],
                              "peak_rss_kib": statistics.median(rss[name]),
                              "peak_rss_kib_runs": rss[name]}))
    for message in failed.values():
        print(f"coldstart.py: {message}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
