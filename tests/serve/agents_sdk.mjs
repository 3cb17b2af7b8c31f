// tests/serve/agents_sdk.mjs - the OpenAI Agents SDK for JavaScript (pinned in
// tests/npm) using a running handoff serve as its model: an Agent whose model
// is OpenAIChatCompletionsModel over an OpenAI client whose baseURL is
// serve's /v1, tracing off. Run by tests/unit/test_serve_clients.c with
// HANDOFF_SERVE_URL; exits 0 when every assertion holds.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../npm/package.json', import.meta.url));
const { OpenAI } = require('openai');
const { Agent, OpenAIChatCompletionsModel, run, setTracingDisabled } = require('@openai/agents');

const url = process.env.HANDOFF_SERVE_URL;
assert.ok(url, 'HANDOFF_SERVE_URL is not set');
setTracingDisabled(true);

const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'no-key-needed', maxRetries: 0 });
const agent = new Agent({
  name: 'Front desk',
  instructions: 'Answer the customer.',
  model: new OpenAIChatCompletionsModel(client, 'support'),
});

// A turn: the served graph routes the Spanish input to its Spanish agent.
const result = await run(agent, 'Hola, ¿cómo estás?');
assert.equal(result.finalOutput, '¡Hola! Con gusto te ayudo en español.');
assert.equal(result.lastAgent.name, 'Front desk');

// Streamed, the same through the SDK's stream.
const streamed = await run(agent, 'Hello, how are you?', { stream: true });
let text = '';
for await (const ev of streamed.toTextStream()) text += ev;
await streamed.completed;
assert.equal(text, "Hello! I'm happy to help you in English.");
assert.equal(streamed.finalOutput, text);

// A second turn of the SDK's conversation: its history goes to serve as a
// stateless request's history.
const again = await run(agent, [...result.history, { role: 'user', content: 'Where is my order?' }]);
assert.equal(again.finalOutput, "Hello! I'm happy to help you in English.");
console.log('agents_sdk: ok');
