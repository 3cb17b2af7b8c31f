#!/usr/bin/env python3
"""equal_work.py - did a contender send the same requests as handoff?

Compares the requests in a contender's `handoff mock --log` file with the
reference (handoff's own triage run, two requests) after the normalisation
rules of docs/bench-peers.md ("Equal work"):

 1. bodies compared parsed: key order ignored, numbers by value (0 = 0.0);
 2. handoff tool names compared lower-cased;
 3. tools[].function.strict dropped;
 4. "stream": false dropped (absent means the same);
 5. role "tool" message contents compared as parsed JSON when they are JSON;
 6. tool-call ids compared by position, not value;
 7. headers other than Content-Type and Authorization ignored;
 8. in tools[].function.parameters, "required": [] and
    "additionalProperties": true dropped (JSON Schema's defaults: the same
    schema).

The contender's log must hold whole runs (a multiple of the reference's
request count); request i is compared with reference request i mod count.
Given the two programs' outputs too, the answers must be the same text (a
JSON line's final_output, else the whole output) and a JSON line's
last_agent, when both name one, the same agent (the triage runs: the
Spanish agent).

    equal_work.py REFERENCE_LOG CONTENDER_LOG NAME [REFERENCE_OUT CONTENDER_OUT]

Prints one JSON object: {"contender", "equal", "requests", "normalised":
[what the rules had to absorb], "differences": [what is left]}; exits 0
when equal, 1 when the contender did different work.
"""
import copy
import json
import sys

COMPARED_HEADERS = ("content-type", "authorization")


def read_log(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def functions(body):
    """Every function object whose name is a tool name: tool definitions
    and the tool calls of assistant messages."""
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            yield tool["function"]
    for msg in body.get("messages") or []:
        for call in (msg.get("tool_calls") or []) if isinstance(msg, dict) else []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                yield call["function"]


def lower_tool_names(body):
    for fn in functions(body):
        if isinstance(fn.get("name"), str):
            fn["name"] = fn["name"].lower()


def drop_strict(body):
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            tool["function"].pop("strict", None)


def drop_schema_defaults(body):
    for tool in body.get("tools") or []:
        params = tool.get("function", {}).get("parameters") if isinstance(tool, dict) else None
        if not isinstance(params, dict):
            continue
        if params.get("required") == []:
            del params["required"]
        if params.get("additionalProperties") is True:
            del params["additionalProperties"]


def drop_stream_false(body):
    if body.get("stream") is False:
        del body["stream"]


def parse_tool_contents(body):
    for msg in body.get("messages") or []:
        if isinstance(msg, dict) and msg.get("role") == "tool" and isinstance(msg.get("content"), str):
            try:
                msg["content"] = json.loads(msg["content"])
            except ValueError:
                pass


def tool_contents(body):
    return [m.get("content") for m in body.get("messages") or []
            if isinstance(m, dict) and m.get("role") == "tool"]


def ids_by_position(body):
    """Replace tool-call ids by their order of first appearance."""
    seen = {}

    def pos(v):
        return seen.setdefault(v, f"#{len(seen) + 1}")

    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        for call in msg.get("tool_calls") or []:
            if isinstance(call, dict) and "id" in call:
                call["id"] = pos(call["id"])
        if "tool_call_id" in msg:
            msg["tool_call_id"] = pos(msg["tool_call_id"])


RULES = [  # (rule, what to say when it changes one side and not the other)
    (lower_tool_names, "handoff tool names differ in case (compared lower-cased)"),
    (drop_strict, "tools[].function.strict present on one side only (dropped)"),
    (drop_stream_false, '"stream": false sent by one side only (dropped)'),
    (drop_schema_defaults, 'tool parameters: "required": [] / "additionalProperties": true '
                           'on one side only (JSON Schema\'s defaults, dropped)'),
]


def same(a, b):
    """Deep equality with numbers by value, booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def differences(a, b, path="body"):
    """Where two parsed values differ, as 'path: handoff X, contender Y'."""
    if same(a, b):
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b:
                out.append(f"{path}.{k}: only handoff sends it")
            elif k not in a:
                out.append(f"{path}.{k}: only the contender sends it ({json.dumps(b[k])[:80]})")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [f"{path}: handoff {json.dumps(a, ensure_ascii=False)[:120]}, "
            f"contender {json.dumps(b, ensure_ascii=False)[:120]}"]


def key_order_differs(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) != list(b) or any(key_order_differs(a[k], b[k]) for k in a if k in b)
    if isinstance(a, list) and isinstance(b, list):
        return any(key_order_differs(x, y) for x, y in zip(a, b))
    return False


def compare(ref, got, notes):
    """Differences left between two logged requests after normalisation;
    what the rules absorbed goes into notes."""
    out = []
    for key in ("method", "path"):
        if ref.get(key) != got.get(key):
            out.append(f"{key}: handoff {ref.get(key)}, contender {got.get(key)}")
    for h in COMPARED_HEADERS:
        rh, gh = ref["headers"].get(h), got["headers"].get(h)
        if rh != gh:
            out.append(f"header {h}: handoff {rh!r}, contender {gh!r}")
    ignored = sorted(h for h in set(ref["headers"]) | set(got["headers"])
                     if h not in COMPARED_HEADERS + ("host", "content-length")
                     and ref["headers"].get(h) != got["headers"].get(h))
    if ignored:
        notes.add("headers ignored as model-irrelevant: " + ", ".join(ignored))
    a, b = copy.deepcopy(ref["body"]), copy.deepcopy(got["body"])
    if not isinstance(a, dict) or not isinstance(b, dict):
        return out + differences(a, b)
    if key_order_differs(a, b):
        notes.add("key order differs (compared regardless of order)")
    for rule, note in RULES:
        before_a, before_b = json.dumps(a), json.dumps(b)
        rule(a)
        rule(b)
        if (json.dumps(a) != before_a) != (json.dumps(b) != before_b):
            notes.add(note)
    raw_a, raw_b = tool_contents(a), tool_contents(b)
    parse_tool_contents(a)
    parse_tool_contents(b)
    if raw_a != raw_b and same(tool_contents(a), tool_contents(b)):
        notes.add("tool message contents spelled differently (same JSON)")
    raw_a, raw_b = copy.deepcopy(a), copy.deepcopy(b)
    ids_by_position(a)
    ids_by_position(b)
    if not same(raw_a, raw_b) and same(a, b):
        notes.add("tool-call ids differ (the mock numbers them per request; compared by position)")
    return out + differences(a, b)


def answer(path):
    """(final answer, last agent) of a contender's output."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for line in reversed(text.splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "final_output" in obj:
            return obj["final_output"], obj.get("last_agent")
    return text.strip(), None


def main():
    ref_path, got_path, name = sys.argv[1:4]
    ref, got = read_log(ref_path), read_log(got_path)
    notes, diffs = set(), []
    if not ref:
        diffs.append("the reference log is empty")
    elif not got or len(got) % len(ref):
        diffs.append(f"{len(got)} requests, not whole runs of {len(ref)}")
    else:
        for i, g in enumerate(got):
            diffs += [f"request {i + 1}: {d}" for d in compare(ref[i % len(ref)], g, notes)]
    if len(sys.argv) > 5:
        (want, want_agent), (got_answer, agent) = answer(sys.argv[4]), answer(sys.argv[5])
        if got_answer != want:
            diffs.append(f"answer: handoff {want!r}, contender {got_answer!r}")
        if None not in (agent, want_agent) and agent != want_agent:
            diffs.append(f"the answer came from {agent!r}, not {want_agent!r} as handoff's")
    print(json.dumps({"contender": name, "equal": not diffs, "requests": len(got),
                      "normalised": sorted(notes), "differences": diffs[:20]},
                     ensure_ascii=False))
    sys.exit(0 if not diffs else 1)


if __name__ == "__main__":
    main()
