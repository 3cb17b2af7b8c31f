#!/usr/bin/env python3
"""report.py - bench/run's statistics, markdown table and JSON results.

Reads the work directory bench/run filled:
  raw/FIGURE/REPEAT.out   one sample per repeat: the contender's JSON line
                          (bench_floor, bench_triage, triage.mjs), JSON lines
                          of coldstart.py (raw/cold.S/), or `name key=value`
                          lines (bench_engine, bench_sse, ...)
  check/S/NAME.json       equal_work.py's verdict per contender and mode
                          (S: stream, nostream, or toolloop for the tool loop)
  failures                what broke
Every figure is the median over the repeats with min and max; a ratio is
taken per repeat (the contenders of one repeat ran back to back) and
summarised the same way. Prints the markdown on stdout and writes --out.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess

MODES = ("stream", "nostream")
CHECKS = MODES + ("toolloop",)  # check directories; the tool loop's reference is toolloop
REFERENCES = ("handoff", "toolloop")
ROOT = pathlib.Path(__file__).resolve().parents[2]
MIB = 1024.0


def parse_out(path):
    """Figures of one output: {key: {metric: value}}, JSON lines under the
    contender's name, `name key=value` lines under name (graph_load lines
    under graph_load.SOURCE)."""
    figs = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            figs[obj.get("contender", "json")] = obj
        elif "=" in line and " " in line:
            name, *pairs = line.split()
            vals = {}
            for p in pairs:
                k, _, v = p.partition("=")
                try:
                    vals[k] = float(v)
                except ValueError:
                    vals[k] = v
            if name == "graph_load":
                name += "." + str(vals.get("source"))
            figs[name] = vals
    return figs


class Samples:
    """FIGURE -> repeat -> parsed output."""

    def __init__(self, work):
        self.by = {}
        raw = work / "raw"
        for d in sorted(raw.iterdir()) if raw.exists() else []:
            for f in d.glob("*.out"):
                rep = int(f.stem)
                figs = parse_out(f)
                if d.name.startswith("cold."):  # one JSON line per contender
                    mode = d.name.split(".", 1)[1]
                    for name, obj in figs.items():
                        self.by.setdefault(f"{name}-once.{mode}", {})[rep] = obj
                else:
                    self.by.setdefault(d.name, {})[rep] = figs

    def values(self, figure, key, metric):
        """{repeat: value} of one metric; key None: a contender's JSON line."""
        out = {}
        for rep, figs in self.by.get(figure, {}).items():
            obj = figs if key is None else figs.get(key)
            if isinstance(obj, dict) and key is None and "contender" not in obj:
                obj = next(iter(obj.values()), None)  # a JSON line under its name
            if isinstance(obj, dict) and isinstance(obj.get(metric), (int, float)):
                out[rep] = float(obj[metric])
        return out


def summary(vals):
    """{median, min, max, samples} of {repeat: value}, or None."""
    if not vals:
        return None
    xs = [vals[k] for k in sorted(vals)]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "samples": xs}


def ratio(num, den):
    """Per-repeat ratio num/den over the repeats both have."""
    return summary({k: num[k] / den[k] for k in num if k in den and den[k]})


def diff(num, den):
    """Per-repeat difference num - den over the repeats both have."""
    return summary({k: num[k] - den[k] for k in num if k in den})


def fmt(x):
    if x is None:
        return "—"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(s, scale=1.0):
    if not s:
        return "—"
    m, lo, hi = (s[k] / scale for k in ("median", "min", "max"))
    return fmt(m) if len(s["samples"]) == 1 else f"{fmt(m)} ({fmt(lo)}–{fmt(hi)})"


def rcell(s):
    if not s:
        return "—"
    m, lo, hi = s["median"], s["min"], s["max"]
    return f"{fmt(m)}×" if len(s["samples"]) == 1 else f"{fmt(m)}× ({fmt(lo)}–{fmt(hi)})"


# The triage contenders: column -> (figure prefix per kind of timing).
COLUMNS = {
    "floor": {"seq": "floor-seq", "conc": "floor-conc", "once": "floor-once"},
    "handoff": {"seq": "handoff-seq", "conc": "engine-conc", "once": "run-once"},
    "sdk": {"seq": "sdk-seq", "conc": "sdk-conc", "once": "sdk-once"},
}
# Rows: (label, kind, metric, unit scale, higher is better, key for targets)
ROWS = [
    ("sequential: ms per run", "seq", "ms_per_run", 1, False, "seq_ms"),
    ("sequential: CPU µs per run (the contender's process)", "seq", "cpu_us_per_run", 1, False,
     None),
    ("sequential: p50 ms", "seq", "p50_ms", 1, False, None),
    ("sequential: p99 ms", "seq", "p99_ms", 1, False, None),
    ("sequential: peak RSS MiB", "seq", "peak_rss_kib", MIB, False, "seq_rss"),
    ("{conc} in flight: runs/s", "conc", "runs_per_s", 1, True, "conc_rps"),
    ("{conc} in flight: p50 ms", "conc", "p50_ms", 1, False, None),
    ("{conc} in flight: p99 ms", "conc", "p99_ms", 1, False, "conc_p99"),
    ("cold start (one run, fresh process): wall ms", "once", "wall_ms", 1, False, "cold_ms"),
    ("cold start: peak RSS MiB", "once", "peak_rss_kib", MIB, False, "cold_rss"),
]


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "os": platform.platform()}


def git_commit(root):
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


class Report:
    def __init__(self, args):
        self.a = args
        self.work = pathlib.Path(args.work)
        self.s = Samples(self.work)
        self.figures, self.ratios, self.targets = {}, {}, []
        self.md = []
        self.checks = self.read_checks()

    def read_checks(self):
        out = {}
        for mode in CHECKS:
            for f in sorted((self.work / "check" / mode).glob("*.json")):
                try:
                    out.setdefault(mode, {})[f.stem] = json.loads(f.read_text(encoding="utf-8"))
                except ValueError:
                    pass
        return out

    def fig(self, name, figure, key, metric):
        vals = self.s.values(figure, key, metric)
        if vals:
            self.figures[name] = summary(vals)
        return vals

    def target(self, what, mode, s, op, limit, shown):
        """Record a target; returns the mark for the table."""
        if not s:
            self.targets.append({"what": what, "mode": mode, "target": shown, "value": None,
                                 "met": None})
            return shown
        v = s["median"]
        met = v <= limit if op == "<=" else v >= limit
        self.targets.append({"what": what, "mode": mode, "target": shown, "value": v, "met": met})
        return f"{shown} {'✓' if met else '✗'}"

    def not_run(self, prefix, mode):
        """Why the contender of a figure prefix (floor-seq, run-once, ...)
        has no figures, or None."""
        name = prefix.rsplit("-", 1)[0]
        if name.startswith("sdk") and self.a.sdk_status != "ok":
            return self.a.sdk_status
        check = self.checks.get(mode, {}).get(name)
        if check is None:
            return "broken (see Broken)"
        if not check.get("equal"):
            return "not timed: different work (see Equal work)"
        return None

    # ---- the triage table ----

    def triage(self, mode):
        conc = self.a.concurrency
        head = "streaming" if mode == "stream" else "non-streaming"
        primary = " (primary)" if mode == "stream" else ""
        self.md += [
            f"### Triage example, {head}{primary}",
            "",
            "| figure | floor (libcurl) | handoff | handoff ÷ floor | target | "
            "Agents SDK (JS) | SDK ÷ floor | handoff vs SDK |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, kind, metric, scale, higher, tkey in ROWS:
            vals, cells = {}, {}
            for col, figs in COLUMNS.items():
                figure = f"{figs[kind]}.{mode}"
                key = None
                if figure.startswith("engine-conc"):
                    key = "engine_50"
                    if metric == "peak_rss_kib":
                        continue
                vals[col] = self.fig(f"{figure}.{metric}", figure, key, metric)
                cells[col] = cell(summary(vals[col]), scale)
                reason = self.not_run(figs[kind], mode)
                if reason and not vals[col]:
                    cells[col] = reason
            hf = ratio(vals.get("handoff", {}), vals.get("floor", {}))
            sf = ratio(vals.get("sdk", {}), vals.get("floor", {}))
            # handoff vs SDK: how many times better handoff is.
            hs = ratio(vals.get("handoff", {}), vals.get("sdk", {})) if higher else \
                ratio(vals.get("sdk", {}), vals.get("handoff", {}))
            for name, r in ((f"handoff/floor.{mode}.{kind}.{metric}", hf),
                            (f"sdk/floor.{mode}.{kind}.{metric}", sf),
                            (f"handoff_advantage_over_sdk.{mode}.{kind}.{metric}", hs)):
                if r:
                    self.ratios[name] = r
            word = "more" if higher else ("less" if "rss" in metric or "cpu" in metric
                                          else "faster")
            vs = f"{rcell(hs)} {word}" if hs else "—"
            tgt = ""
            if tkey == "seq_ms":
                tgt = self.target("handoff in process ÷ floor, ms per run", mode, hf, "<=", 1.10,
                                  "≤ 1.10×")
                vs += " (target " + self.target("Agents SDK ÷ handoff, ms per run", mode, hs,
                                                ">=", 10, "≥ 10×") + ")"
            elif tkey == "seq_rss":
                vs += " (target " + self.target("Agents SDK ÷ handoff, peak RSS", mode, hs, ">=",
                                                10, "≥ 10×") + ")"
            elif tkey == "conc_rps":
                tgt = self.target(f"engine ÷ floor, runs/s at {conc} in flight", mode, hf, ">=",
                                  0.8, "≥ 0.8×")
            elif tkey == "conc_p99":
                tgt = self.target(f"engine ÷ floor, p99 at {conc} in flight", mode, hf, "<=",
                                  1.5, "≤ 1.5×")
            elif tkey == "cold_ms":
                tgt = self.target("handoff run ÷ floor process, cold start", mode, hf, "<=", 1.5,
                                  "≤ 1.5×")
            elif tkey == "cold_rss":
                rss = summary(vals.get("handoff", {}))
                tgt = self.target("handoff run peak RSS (MiB)", mode,
                                  rss and {**rss, "median": rss["median"] / MIB}, "<=", 12,
                                  "≤ 12 MiB")
            self.md.append(f"| {label.format(conc=conc)} | {cells['floor']} | "
                           f"{cells.get('handoff', '—')} | {rcell(hf)} | {tgt} | "
                           f"{cells['sdk']} | {rcell(sf)} | {vs} |")
        # Extra: handoff with its SQLite store.
        for label, figure, metric, scale, base in (
                ("sequential, SQLite store: ms per run", "handoff-sqlite-seq", "ms_per_run", 1,
                 "floor-seq"),
                ("sequential, SQLite store: peak RSS MiB", "handoff-sqlite-seq", "peak_rss_kib",
                 MIB, "floor-seq"),
                ("cold start, SQLite store: wall ms", "run-sqlite-once", "wall_ms", 1,
                 "floor-once"),
                ("cold start, SQLite store: peak RSS MiB", "run-sqlite-once", "peak_rss_kib", MIB,
                 "floor-once")):
            v = self.fig(f"{figure}.{mode}.{metric}", f"{figure}.{mode}", None, metric)
            r = ratio(v, self.s.values(f"{base}.{mode}", None, metric))
            if r:
                self.ratios[f"{figure}/floor.{mode}.{metric}"] = r
            self.md.append(f"| {label} (extra) | | {cell(summary(v), scale)} | {rcell(r)} | | | | |")
        self.md.append("")

    # ---- handoff's own figures ----

    def own(self):
        a = self.a
        conv = a.conversations
        self.md += ["### handoff's own figures", "",
                    "| figure | handoff | floor (bare libcurl, same requests) | handoff ÷ floor | target |",
                    "|---|---|---|---|---|"]
        # (label, figure, key, metric, scale, target op, limit, shown,
        #  the floor's figure/metric and scale, or None)
        rows = [
            (f"engine: {conv:,} conversations at {a.latency} ms mock latency, wall s",
             "engine-10k", "engine_10k", "wall_s", 1, "<=", 2.0, "≤ 2.0 s",
             ("floor-10k", "wall_ms", 1000)),
            ("engine: the same, CPU s (extra)", "engine-10k", "engine_10k", "cpu_s", 1, None,
             None, "", None),
            ("engine: memory per conversation in flight, KiB", "engine-10k", "engine_10k",
             "kib_per_conversation", 1, "<=", 32, "≤ 32 KiB",
             ("floor-10k", "peak_rss_kib", conv)),  # growth over its one-run process
            ("SSE parse, MB/s", "sse", "sse_parse", "mb_per_s", 1, ">=", 1000, "≥ 1,000 MB/s",
             None),
            ("SSE parse + chunk assembly, MB/s (extra)", "sse", "sse_assemble", "mb_per_s", 1,
             None, None, "", None),
            ("graph load, 1,000 agents × 10 handoffs, directory: ms", "graph",
             "graph_load.directory", "ms_median", 1, "<=", 20, "≤ 20 ms", None),
            ("graph load, directory: CPU ms (extra)", "graph", "graph_load.directory",
             "cpu_ms_median", 1, None, None, "", None),
            ("graph load, directory: peak RSS MiB", "graph", "graph_load.directory",
             "peak_rss_kib", MIB, "<=", 20, "≤ 20 MiB", None),
            ("graph load, from memory: ms", "graph", "graph_load.memory", "ms_median", 1, "<=",
             20, "≤ 20 ms", None),
            ("graph load, from memory: CPU ms (extra)", "graph", "graph_load.memory",
             "cpu_ms_median", 1, None, None, "", None),
            ("graph load, from memory: peak RSS MiB", "graph", "graph_load.memory",
             "peak_rss_kib", MIB, "<=", 20, "≤ 20 MiB", None),
            ("client overhead: hf_call ÷ bare libcurl, per request", "client", "client_overhead",
             "ratio", 1, "<=", 1.10, "≤ 1.10", None),
            ("client overhead with reply parsing (extra)", "client", "client_overhead",
             "parsed_ratio", 1, None, None, "", None),
            ("handoff mock: requests/s (one thread, 64 connections)", "mock-rps", "mock_rps",
             "rps", 1, ">=", 20000, "≥ 20,000", None),
            ("MCP tools/call over stdio, calls/s (one thread, 64 in flight)", "mcp",
             "mcp_stdio", "calls_per_s", 1, ">=", 20000, "≥ 20,000", None),
            ("MCP tools/call over stdio: handoff CPU µs per call (extra)", "mcp", "mcp_stdio",
             "cpu_us_per_call", 1, None, None, "", None),
            ("handoff mock: server CPU µs per request (extra)", "mock-rps", "mock_rps",
             "server_cpu_us_per_req", 1, None, None, "", None),
        ]
        for label, figure, key, metric, scale, op, limit, shown, floor in rows:
            vals = self.fig(f"{figure}.{key}.{metric}", figure, key, metric)
            s = summary(vals)
            scaled = s and {**s, **{k: s[k] / scale for k in ("median", "min", "max")}}
            mark = self.target(label, "any", scaled, op, limit, shown) if op else ""
            fcell, r = "", None
            if floor:
                ffig, fmetric, fscale = floor
                fvals = self.s.values(ffig, None, fmetric)
                if fmetric == "peak_rss_kib":  # growth: less the floor's one-run process
                    base = self.s.values("floor-once.nostream", None, fmetric)
                    fvals = {k: v - base[k] for k, v in fvals.items() if k in base}
                fvals = {k: v / fscale for k, v in fvals.items()}
                if fvals:
                    self.figures[f"{ffig}.{fmetric}/{fscale}"] = summary(fvals)
                r = ratio(vals, fvals)
                if r:
                    self.ratios[f"{figure}/{ffig}.{metric}"] = r
                fcell = cell(summary(fvals))
            self.md.append(f"| {label} | {cell(s, scale)} | {fcell} | {rcell(r) if floor else ''} "
                           f"| {mark} |")
        self.md.append("")

    # ---- issue 11: the tool loop, a C tool's cost, instructions ----

    def toolloop(self):
        conc = self.a.concurrency
        self.md += [
            "### Tool loop: one MCP tool call per turn, streaming (issue 11)",
            "",
            "Each turn: the model calls `echo`, the client calls tests/mcp_test_server.c over "
            "stdio, the model answers with the result (two model calls, one `tools/call`). "
            "CPU and memory: the contender's own process, not the server's.",
            "",
            "| figure | handoff | Agents SDK (JS) | handoff vs SDK |",
            "|---|---|---|---|",
        ]
        # (label, kind, metric, scale, higher is better, target on the advantage)
        rows = [
            ("sequential: turns/s", "seq", "runs_per_s", 1, True, True),
            ("sequential: ms per turn", "seq", "ms_per_run", 1, False, False),
            ("sequential: CPU µs per turn", "seq", "cpu_us_per_run", 1, False, False),
            ("sequential: p50 ms", "seq", "p50_ms", 1, False, False),
            ("sequential: p99 ms", "seq", "p99_ms", 1, False, False),
            ("sequential: peak RSS MiB", "seq", "peak_rss_kib", MIB, False, True),
            ("{conc} in flight: turns/s", "conc", "runs_per_s", 1, True, True),
            ("{conc} in flight: CPU µs per turn", "conc", "cpu_us_per_run", 1, False, False),
            ("{conc} in flight: p50 ms", "conc", "p50_ms", 1, False, False),
            ("{conc} in flight: p99 ms", "conc", "p99_ms", 1, False, False),
            ("{conc} in flight: peak RSS MiB", "conc", "peak_rss_kib", MIB, False, True),
        ]
        for label, kind, metric, scale, higher, tgt in rows:
            vals, cells = {}, {}
            for col in ("toolloop", "sdk-toolloop"):
                figure = f"{col}-{kind}.toolloop"
                vals[col] = self.fig(f"{figure}.{metric}", figure, None, metric)
                cells[col] = cell(summary(vals[col]), scale)
                reason = self.not_run(f"{col}-{kind}", "toolloop")
                if reason and not vals[col]:
                    cells[col] = reason
            adv = ratio(vals["toolloop"], vals["sdk-toolloop"]) if higher else \
                ratio(vals["sdk-toolloop"], vals["toolloop"])
            if adv:
                self.ratios[f"handoff_advantage_over_sdk.toolloop.{kind}.{metric}"] = adv
            word = "more" if higher else ("less" if "rss" in metric or "cpu" in metric
                                          else "faster")
            vs = f"{rcell(adv)} {word}" if adv else "—"
            if tgt:
                what = "turns/s" if higher else "peak RSS"
                vs += " (target " + self.target(f"tool loop, handoff vs Agents SDK, {what} "
                                                f"({kind})", "stream", adv, ">=", 10,
                                                "≥ 10×") + ")"
            self.md.append(f"| {label.format(conc=conc)} | {cells['toolloop']} | "
                           f"{cells['sdk-toolloop']} | {vs} |")
        self.md.append("")

    def tool_cost(self):
        self.md += [
            "### A C callback tool inside a turn (issue 11)",
            "",
            "`bench_tool_cost`: CPU µs of the client's process per turn of two model calls; "
            "the differences are medians of per-round differences (docs/benchmarks.md, "
            "\"A C callback tool\").",
            "",
            "| figure | streaming | non-streaming | target |",
            "|---|---|---|---|",
        ]
        rows = [
            ("turn with one tool call: CPU µs", "cpu_us_tool", None),
            ("turn with two tool calls: CPU µs", "cpu_us_two", None),
            ("turn with a handoff instead (no tool): CPU µs", "cpu_us_handoff", None),
            ("a tool call in place of a handoff (tool − handoff turn): CPU µs", "tool_vs_handoff_us",
             "≤ 2 µs"),
            ("one more tool call in a reply (two − one tool calls): CPU µs", "per_call_us", None),
        ]
        for label, metric, shown in rows:
            cells, marks = [], []
            for mode in MODES:
                v = self.fig(f"tool-cost.{mode}.{metric}", f"tool-cost.{mode}", "tool_cost", metric)
                cells.append(cell(summary(v)))
                if shown:
                    marks.append(self.target(f"C tool: {label}", mode, summary(v), "<=", 2.0,
                                             shown).replace(shown, mode))
            tgt = f"{shown}: " + ", ".join(marks) if shown else ""
            self.md.append(f"| {label} | {cells[0]} | {cells[1]} | {tgt} |")
        self.md.append("")
        if self.a.instr_status != "ok":
            self.md += [f"Instructions: {self.a.instr_status}.", ""]
            return
        self.md += [
            "Instructions per turn, counted by callgrind (`bench/lib/instructions.py`: "
            "the difference between runs of two lengths, so start-up cancels out; "
            "deterministic, whatever the load):",
            "",
            "| instructions | streaming | non-streaming |",
            "|---|---|---|",
        ]
        per = {}
        for mode in MODES:
            for k in ("tool", "two", "handoff", "triage"):
                v = self.s.values(f"instr-{k}.{mode}", "instructions", k)
                if v:
                    per[(k, mode)] = v[min(v)]
                    self.figures[f"instructions.{k}.{mode}"] = summary(v)
        def row(label, f):
            vals = []
            for mode in MODES:
                try:
                    vals.append(f(mode))
                except KeyError:
                    vals.append(None)
            for mode, x in zip(MODES, vals):
                if x is not None:
                    self.figures[f"instructions.{label}.{mode}"] = {"median": x, "min": x,
                                                                    "max": x, "samples": [x]}
            self.md.append(f"| {label} | {fmt(vals[0])} | {fmt(vals[1])} |")
        row("turn with one tool call", lambda m: per[("tool", m)])
        row("turn with two tool calls", lambda m: per[("two", m)])
        row("turn with a handoff instead", lambda m: per[("handoff", m)])
        row("a tool call in place of a handoff (tool − handoff)",
            lambda m: per[("tool", m)] - per[("handoff", m)])
        row("one more tool call in a reply (two − tool)",
            lambda m: per[("two", m)] - per[("tool", m)])
        row("triage run (bench_triage, for comparison across commits)",
            lambda m: per[("triage", m)])
        self.md.append("")

    # ---- issue 12: handoff serve ----

    def serve(self):
        conc, a = self.a.concurrency, self.a
        self.md += [
            f"### handoff serve at {conc} concurrent streaming clients (issue 12)",
            "",
            "The same streaming turns of the default graph (two model calls each) by the engine "
            f"in process (`bench_engine --stream`, {conc} in flight) and through `handoff-serve` "
            f"(stateless requests from `bench_serve_load`, {conc} clients); serve on the "
            "contenders' CPU, the load generator on the mock's. Added latency and the ratio "
            "are taken per repeat.",
            "",
            "| figure | engine in process | through serve | serve − engine / serve ÷ engine | target |",
            "|---|---|---|---|---|",
        ]
        rows = [  # (label, engine metric, serve metric, compare, op, limit, shown)
            ("turns/s", "runs_per_s", "turns_per_s", "ratio", ">=", 0.8, "≥ 0.8×"),
            ("p50 ms", "p50_ms", "p50_ms", "diff", "<=", 0.3, "≤ +0.3 ms"),
            ("p99 ms", "p99_ms", "p99_ms", "diff", "<=", 2.0, "≤ +2 ms"),
        ]
        for label, em, sm, how, op, limit, shown in rows:
            e = self.fig(f"serve-engine.stream.{em}", "serve-engine.stream", "engine_50", em)
            v = self.fig(f"serve-conc.stream.{sm}", "serve-conc.stream", "serve_load", sm)
            r = ratio(v, e) if how == "ratio" else diff(v, e)
            if r:
                self.ratios[f"serve_{how}_engine.{sm}"] = r
            what = (f"serve ÷ engine, turns/s at {conc} streaming clients" if how == "ratio"
                    else f"serve − engine, {label} at {conc} streaming clients")
            mark = self.target(what, "stream", r, op, limit, shown)
            shown_r = rcell(r) if how == "ratio" else (cell(r) + " ms" if r else "—")
            if r and how == "diff" and not shown_r.startswith("-"):
                shown_r = "+" + shown_r
            self.md.append(f"| {label} | {cell(summary(e))} | {cell(summary(v))} | {shown_r} "
                           f"| {mark} |")
        errs = self.fig("serve-conc.stream.errors", "serve-conc.stream", "serve_load", "errors")
        self.md += [f"| failed turns through serve | | {cell(summary(errs))} | | |", ""]
        self.md += [
            f"### handoff serve: {a.open:,} open streaming clients, {a.latency} ms upstream "
            "latency (issue 12)",
            "",
            f"{a.open:,} clients of `bench_serve_load` at once, one streaming turn each (after a "
            f"warm-up round), through a fresh `handoff-serve --max-in-flight {a.open * 2}` "
            f"against the {a.latency} ms mock; peak RSS is serve's VmHWM after the run.",
            "",
            "| figure | through serve | target |",
            "|---|---|---|",
        ]
        rows = [  # (label, key, metric, scale, op, limit, shown)
            ("failed turns", "serve_load", "errors", 1, "<=", 0, "0"),
            ("serve peak RSS MiB", "serve_rss", "vmhwm_kib", MIB, "<=", 100, "≤ 100 MiB"),
            ("turns/s (extra)", "serve_load", "turns_per_s", 1, None, None, ""),
            ("p50 ms (extra)", "serve_load", "p50_ms", 1, None, None, ""),
            ("p99 ms (extra)", "serve_load", "p99_ms", 1, None, None, ""),
        ]
        for label, key, metric, scale, op, limit, shown in rows:
            s = summary(self.fig(f"serve-open.stream.{metric}", "serve-open.stream", key, metric))
            scaled = s and {**s, **{k: s[k] / scale for k in ("median", "min", "max")}}
            mark = self.target(f"serve, {a.open:,} open streaming clients: {label}", "stream",
                               scaled, op, limit, shown) if op else ""
            self.md.append(f"| {label} | {cell(s, scale)} | {mark} |")
        self.md.append("")

    def equal_work(self):
        self.md += ["### Equal work (checked before timing)", ""]
        for mode in CHECKS:
            for name, c in self.checks.get(mode, {}).items():
                if name in REFERENCES:
                    continue
                verdict = "same requests" if c.get("equal") else "DIFFERENT WORK, not timed"
                extra = "; ".join(c.get("normalised", []) + c.get("differences", [])[:3])
                self.md.append(f"- {name} ({mode}): {verdict}"
                               f" ({c.get('requests')} requests){': ' + extra if extra else ''}")
        if self.a.sdk_status != "ok" and self.a.only != "serve":
            self.md.append(f"- Agents SDK: {self.a.sdk_status}")
        if self.a.only != "tools":
            self.md.append("- serve: not compared request by request; every turn through serve "
                           "must stream to a `finish_reason` \"stop\" chunk and `[DONE]` (else "
                           "counted as failed), every engine turn must end HF_OK from the "
                           "Spanish agent (else bench_engine fails)")
        self.md.append("")

    def run(self):
        a = self.a
        m = machine()
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.md += [
            f"## handoff benchmarks — {date}",
            "",
            f"Machine: {m['cores']} cores, {m['cpu_model']}, Linux {m['kernel']}; load average "
            f"{a.load_start} at the start, {a.load_end} at the end. CPUs: {a.cpus}.",
            f"Command: `{a.command}` (commit {git_commit(str(ROOT)) or 'unknown'}).",
            f"N = {a.n} runs ({a.warmup} warm-up), {a.concurrency} in flight, "
            f"{a.cold_runs} cold starts per repeat; medians of {a.repeats} repeat(s), "
            "min–max in brackets; ratios taken per repeat." + (" QUICK SMOKE RUN: figures are "
                                                               "not meaningful." if a.quick else ""),
            "",
        ]
        if a.only == "all":
            for mode in MODES:
                self.triage(mode)
            self.own()
        if a.only != "tools":
            self.serve()
        if a.only != "serve":
            self.toolloop()
            self.tool_cost()
        self.equal_work()
        failures = [l for l in (self.work / "failures").read_text().splitlines() if l.strip()] \
            if (self.work / "failures").exists() else []
        if failures:
            self.md += ["### Broken", ""] + [f"- {f}" for f in failures] + [""]
        print("\n".join(self.md))
        result = {
            "date": date, "command": a.command, "commit": git_commit(str(ROOT)),
            "machine": m, "load_average": {"start": a.load_start, "end": a.load_end},
            "cpus": a.cpus,
            "settings": {"quick": bool(a.quick), "only": a.only, "repeats": a.repeats, "n": a.n,
                         "warmup": a.warmup, "concurrency": a.concurrency,
                         "cold_runs": a.cold_runs, "conversations": a.conversations,
                         "latency_ms": a.latency, "open_clients": a.open, "primary_mode": "stream"},
            "agents_sdk": a.sdk_status, "instructions": a.instr_status, "equal_work": self.checks, "figures": self.figures,
            "ratios": self.ratios, "targets": self.targets, "failures": failures,
            "table_markdown": "\n".join(self.md),
        }
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
            f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", default="all", choices=("all", "tools", "serve"))
    for k in ("work", "out", "command", "sdk-status", "instr-status", "load-start", "load-end",
              "cpus"):
        p.add_argument("--" + k, required=True)
    for k in ("quick", "repeats", "n", "warmup", "concurrency", "cold-runs", "conversations",
              "latency", "open"):
        p.add_argument("--" + k, type=int, required=True)
    Report(p.parse_args()).run()


if __name__ == "__main__":
    main()
