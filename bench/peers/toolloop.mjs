#!/usr/bin/env node
// toolloop.mjs - the OpenAI Agents SDK for JavaScript (@openai/agents)
// running the tool loop of bench/graphs/toolloop.yaml against an
// OpenAI-compatible endpoint (the benchmark points it at `handoff mock`):
// one agent offered the `echo` tool of an MCP server over stdio
// (MCPServerStdio, the server's command from the graph file's mcp_servers,
// found on PATH as handoff finds it), on the SDK's chat-completions model,
// tracing off. Each run: the model calls echo, the SDK calls the server,
// the model answers with the result. One server process for all runs, its
// tools listed once (cacheToolsList), as handoff does. Prints one JSON line
// of figures, as triage.mjs does.
//
//   node toolloop.mjs --base-url http://127.0.0.1:PORT/v1 [--mode once|seq|conc]
//        [--n N] [--concurrency K] [--warmup W] [--stream] [--input TEXT]
//        [--graph FILE]
//
// See docs/benchmarks.md ("Tool loop").

import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { Agent, Runner, MCPServerStdio, OpenAIChatCompletionsModel, setTracingDisabled } from '@openai/agents';
import { parse } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) process.stderr.write(`toolloop.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node toolloop.mjs --base-url URL [--mode once|seq|conc] [--n N]\n' +
    '       [--concurrency K] [--warmup W] [--stream] [--input TEXT] [--graph FILE]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    baseUrl: null, mode: 'once', n: 1, concurrency: 50, warmup: 0,
    input: 'echo {"text":"hello"}', graph: join(HERE, '..', 'graphs', 'toolloop.yaml'),
    stream: false,
  };
  const keys = {
    '--base-url': 'baseUrl', '--mode': 'mode', '--n': 'n', '--concurrency': 'concurrency',
    '--warmup': 'warmup', '--input': 'input', '--graph': 'graph',
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') usage();
    if (argv[i] === '--stream') {
      o.stream = true;
      continue;
    }
    const key = keys[argv[i]];
    if (!key) usage(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    o[key] = argv[++i];
  }
  if (!o.baseUrl) usage('--base-url is required (the endpoint, e.g. http://127.0.0.1:PORT/v1)');
  if (!['once', 'seq', 'conc'].includes(o.mode)) usage(`--mode must be once, seq or conc, not ${o.mode}`);
  for (const k of ['n', 'concurrency', 'warmup']) {
    const v = Number(o[k]);
    if (!Number.isInteger(v) || v < (k === 'warmup' ? 0 : 1)) usage(`--${k} must be a whole number, not ${o[k]}`);
    o[k] = v;
  }
  if (o.mode === 'once') o.n = 1;
  return o;
}

// The graph file: its entry agent (tools named SERVER.TOOL of one stdio
// server) and that server's command. Only what this graph uses.
function loadGraph(file) {
  const g = parse(readFileSync(file, 'utf8'));
  const agent = (g.agents ?? []).find((a) => a.name === g.entry);
  if (!agent) throw new Error(`${file}: no entry agent ${g.entry}`);
  const names = (agent.tools ?? []).map((t) => t.split('.'));
  const servers = new Set(names.map(([s]) => s));
  if (names.some((n) => n.length !== 2) || servers.size !== 1)
    throw new Error(`${file}: the entry agent must name tools of one MCP server as SERVER.TOOL`);
  const [server] = servers;
  const conf = g.mcp_servers?.[server];
  if (!conf?.command) throw new Error(`${file}: mcp_servers.${server} has no command`);
  return { agent, model: agent.model ?? g.model, maxTurns: g.max_turns, server, conf,
           tools: names.map(([, t]) => t) };
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x) => Math.round(x * 1000) / 1000;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  setTracingDisabled(true);
  const g = loadGraph(o.graph);
  const server = new MCPServerStdio({
    name: g.server, command: g.conf.command, args: g.conf.args ?? [], env: g.conf.env,
    cacheToolsList: true, toolFilter: { allowedToolNames: g.tools },
  });
  await server.connect();
  const client = new OpenAI({ apiKey: 'dummy', baseURL: o.baseUrl });
  const agent = new Agent({
    name: g.agent.name,
    instructions: g.agent.instructions,
    model: new OpenAIChatCompletionsModel(client, g.model),
    mcpServers: [server],
  });
  const runner = new Runner({ tracingDisabled: true });
  const runOptions = { stream: o.stream };
  if (g.maxTurns !== undefined) runOptions.maxTurns = g.maxTurns;

  let last = null;
  const oneRun = async () => {
    const t0 = performance.now();
    const r = await runner.run(agent, o.input, runOptions);
    if (o.stream) {
      for await (const event of r) void event; // as a client rendering the stream would
      await r.completed;
    }
    const ms = performance.now() - t0;
    last = r;
    return ms;
  };

  try {
    for (let i = 0; i < o.warmup; i++) await oneRun();

    const lat = [];
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    if (o.mode === 'conc') {
      let next = 0;
      const worker = async () => {
        while (next < o.n) {
          next++;
          lat.push(await oneRun());
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.concurrency, o.n) }, worker));
    } else {
      for (let i = 0; i < o.n; i++) lat.push(await oneRun());
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0); // µs, user + system, this process (not the server)
    lat.sort((a, b) => a - b);

    const out = {
      contender: 'agents-sdk-js',
      mode: o.mode,
      stream: o.stream,
      n: o.n,
      concurrency: o.mode === 'conc' ? Math.min(o.concurrency, o.n) : 1,
      wall_ms: round(wall),
      ms_per_run: round(wall / o.n),
      runs_per_s: round((o.n * 1000) / wall),
      cpu_us_per_run: round((cpu.user + cpu.system) / o.n),
      p50_ms: round(percentile(lat, 50)),
      p99_ms: round(percentile(lat, 99)),
      peak_rss_kib: process.resourceUsage().maxRSS,
      final_output: last.finalOutput ?? null,
      last_agent: last.lastAgent ? last.lastAgent.name : null,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await server.close();
  }
}

main().catch((e) => {
  const cause = e && e.cause && e.cause.message ? ` (${e.cause.message})` : '';
  process.stderr.write(`toolloop.mjs: ${e && e.message ? e.message : e}${cause}\n`);
  process.exit(1);
});
