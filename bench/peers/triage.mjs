#!/usr/bin/env node
// triage.mjs - the OpenAI Agents SDK for JavaScript (@openai/agents) running
// handoff's triage example against an OpenAI-compatible endpoint (the
// benchmark points it at `handoff mock`). It builds the same agents as
// handoff's default graph (agents/*.yaml): names, instructions,
// handoff descriptions, handoffs, model and settings, on the SDK's
// chat-completions model, tracing off. Prints one JSON line of figures.
//
//   node triage.mjs --base-url http://127.0.0.1:PORT/v1 [--mode once|seq|conc]
//        [--n N] [--concurrency K] [--warmup W] [--stream] [--input TEXT]
//        [--agents DIR] [--instructions-json FILE]
//
// See docs/bench-peers.md.

import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { Agent, Runner, OpenAIChatCompletionsModel, setTracingDisabled } from '@openai/agents';
import { parseAllDocuments } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) process.stderr.write(`triage.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node triage.mjs --base-url URL [--mode once|seq|conc] [--n N]\n' +
    '       [--concurrency K] [--warmup W] [--stream] [--input TEXT] [--agents DIR]\n' +
    '       [--instructions-json FILE]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    baseUrl: null, mode: 'once', n: 1, concurrency: 50, warmup: 0,
    input: 'Hola, ¿cómo estás?', agents: join(HERE, '..', '..', 'agents'),
    instructionsJson: null, stream: false,
  };
  const keys = {
    '--base-url': 'baseUrl', '--mode': 'mode', '--n': 'n', '--concurrency': 'concurrency',
    '--warmup': 'warmup', '--input': 'input', '--agents': 'agents',
    '--instructions-json': 'instructionsJson',
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

// The graph: every YAML document in DIR/*.yaml is an agent (has `name`), a
// list of agents (`agents:`), and/or the graph settings (`entry`, `model`,
// `max_turns`).
function loadGraph(dir) {
  const agents = new Map();
  const graph = {};
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${join(dir, f)}: ${doc.errors[0].message}`);
      const v = doc.toJS();
      if (!v || typeof v !== 'object') continue;
      const list = Array.isArray(v.agents) ? v.agents : v.name !== undefined ? [v] : [];
      for (const a of list) agents.set(a.name, a);
      if (v.graph && typeof v.graph === 'object') Object.assign(graph, v.graph);
      for (const k of ['entry', 'model', 'max_turns']) if (v[k] !== undefined && v.name === undefined) graph[k] = v[k];
    }
  }
  if (!agents.size) throw new Error(`no agents in ${dir}`);
  return { agents, graph };
}

// The handoff tool name the JS SDK derives (case kept), for tool_choice
// values that name an agent.
function sdkToolName(agentName) {
  return `transfer_to_${agentName.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

function modelSettings(s, agentsByName) {
  const m = {};
  if (!s) return m;
  if (s.temperature !== undefined) m.temperature = s.temperature;
  if (s.top_p !== undefined) m.topP = s.top_p;
  if (s.max_tokens !== undefined) m.maxTokens = s.max_tokens;
  if (s.parallel_tool_calls !== undefined) m.parallelToolCalls = s.parallel_tool_calls;
  if (s.tool_choice !== undefined) {
    const tc = s.tool_choice;
    m.toolChoice = ['auto', 'required', 'none'].includes(tc) || !agentsByName.has(tc) ? tc : sdkToolName(tc);
  }
  const extra = {};
  if (s.seed !== undefined) extra.seed = s.seed;
  if (s.stop !== undefined) extra.stop = s.stop;
  if (Object.keys(extra).length) m.providerData = extra;
  return m;
}

function buildAgents(def, client, prompts) {
  const { agents: specs, graph } = def;
  const built = new Map();
  const models = new Map();
  const modelFor = (name) => {
    if (!models.has(name)) models.set(name, new OpenAIChatCompletionsModel(client, name));
    return models.get(name);
  };
  for (const [name, a] of specs) {
    const modelName = a.model ?? graph.model;
    if (!modelName) throw new Error(`agent ${name}: no model (set model in the agent or the graph file)`);
    const instructions = prompts && Object.hasOwn(prompts, name) ? prompts[name] : a.instructions;
    built.set(name, new Agent({
      name,
      instructions: instructions ?? undefined,
      handoffDescription: a.description ?? undefined,
      model: modelFor(modelName),
      modelSettings: modelSettings(a.settings, specs),
    }));
  }
  for (const [name, a] of specs) {
    built.get(name).handoffs = (a.handoffs ?? []).map((t) => {
      if (!built.has(t)) throw new Error(`agent ${name}: unknown handoff target ${t}`);
      return built.get(t);
    });
  }
  const entryName = graph.entry ?? specs.keys().next().value;
  if (!built.has(entryName)) throw new Error(`entry agent ${entryName} is not defined`);
  return { entry: built.get(entryName), maxTurns: graph.max_turns };
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
  const prompts = o.instructionsJson ? JSON.parse(readFileSync(o.instructionsJson, 'utf8')) : null;
  const client = new OpenAI({ apiKey: 'dummy', baseURL: o.baseUrl });
  const { entry, maxTurns } = buildAgents(loadGraph(o.agents), client, prompts);
  const runner = new Runner({ tracingDisabled: true });
  const runOptions = { stream: o.stream };
  if (maxTurns !== undefined) runOptions.maxTurns = maxTurns;

  let last = null;
  const oneRun = async () => {
    const t0 = performance.now();
    const r = await runner.run(entry, o.input, runOptions);
    if (o.stream) {
      for await (const event of r) void event; // as a client rendering the stream would
      await r.completed;
    }
    const ms = performance.now() - t0;
    last = r;
    return ms;
  };

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
  const cpu = process.cpuUsage(cpu0); // µs, user + system, this process
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
}

main().catch((e) => {
  const cause = e && e.cause && e.cause.message ? ` (${e.cause.message})` : '';
  process.stderr.write(`triage.mjs: ${e && e.message ? e.message : e}${cause}\n`);
  process.exit(1);
});
