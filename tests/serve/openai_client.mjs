// tests/serve/openai_client.mjs - the official `openai` npm client (pinned in
// tests/npm) against a running handoff serve. Run by tests/unit/test_serve_clients.c:
//   node openai_client.mjs CASE
// with HANDOFF_SERVE_URL (http://ADDR:PORT), HANDOFF_SERVE_KEY (the client key,
// for CASE auth). Exits 0 when every assertion holds; an assertion failure
// exits non-zero with the reason on stderr.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../npm/package.json', import.meta.url));
const { OpenAI, APIError, NotFoundError, BadRequestError, AuthenticationError,
        ConflictError, InternalServerError, APIUserAbortError } = require('openai');

const url = process.env.HANDOFF_SERVE_URL;
assert.ok(url, 'HANDOFF_SERVE_URL is not set');
// maxRetries 0: the client retries 409, 429 and 5xx by default; the tests
// want each status as the server sent it.
const client = (opts = {}) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: 'no-key-needed', maxRetries: 0, ...opts });
const user = (content) => ({ role: 'user', content });

// The thrown error of p, which must be an instance of cls with this status
// and error code.
async function rejects(p, cls, status, code) {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e?.constructor?.name}: ${e?.message}`);
    assert.ok(e instanceof APIError);
    assert.equal(e.status, status);
    assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected ${cls.name} (${status} ${code}), the request succeeded`);
}

const cases = {
  // Non-streaming, sticky session, stateless, streaming, 404 and 400.
  async main() {
    const c = client();

    // Non-streaming: the answer, usage, X-Handoff-Agent through .withResponse().
    const { data, response } = await c.chat.completions
      .create({ model: 'support', messages: [user('Hello, how are you?')] })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(decodeURIComponent(response.headers.get('x-handoff-agent')), 'English agent');
    assert.equal(response.headers.get('x-handoff-session'), null);
    assert.match(response.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'support');
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, "Hello! I'm happy to help you in English.");
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.deepEqual(data.handoff, {
      agent: 'English agent',
      handoffs: [{ from: 'Triage agent', to: 'English agent' }],
    });

    // Sticky routing across two requests of one session (defaultHeaders):
    // the second turn is answered by the Spanish agent without a handoff.
    const s = client({ defaultHeaders: { 'X-Handoff-Session': 'conv-js' } });
    const first = await s.chat.completions
      .create({ model: 'support', messages: [user('Hola, ¿cómo estás?')] }).withResponse();
    assert.equal(first.response.headers.get('x-handoff-session'), 'conv-js');
    assert.equal(first.data.choices[0].message.content, '¡Hola! Con gusto te ayudo en español.');
    assert.deepEqual(first.data.handoff.handoffs, [{ from: 'Triage agent', to: 'Spanish agent' }]);
    // The client resends the whole conversation, as chat clients do; only
    // the trailing user message is new, and the turn starts at the Spanish
    // agent (no triage call, so no handoff).
    const second = await s.chat.completions.create({
      model: 'support',
      messages: [user('Hola, ¿cómo estás?'), first.data.choices[0].message,
                 user('¿Dónde está mi pedido?')],
    }).withResponse();
    assert.equal(decodeURIComponent(second.response.headers.get('x-handoff-agent')), 'Spanish agent');
    assert.deepEqual(second.data.handoff, { agent: 'Spanish agent', handoffs: [] });
    // A per-request header names another session: a fresh conversation.
    const other = await c.chat.completions.create(
      { model: 'support', messages: [user('Where is my order?')] },
      { headers: { 'X-Handoff-Session': 'conv-js-2' } });
    assert.equal(other.handoff.agent, 'English agent');

    // Stateless: the request's messages are the history, the entry agent
    // routes the new input.
    const stateless = await c.chat.completions.create({
      model: 'support',
      messages: [{ role: 'system', content: 'You are terse.' }, user('Hola'),
                 { role: 'assistant', content: '¡Hola!' }, user('Hello, how are you?')],
    });
    assert.equal(stateless.handoff.agent, 'English agent');

    // Streaming with include_usage: one id, text pieces, finish_reason,
    // then the usage chunk with empty choices.
    const stream = await c.chat.completions.create({
      model: 'support', stream: true, stream_options: { include_usage: true },
      messages: [user('Hola, ¿cómo estás?')],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 4, `only ${chunks.length} chunks`);
    assert.equal(new Set(chunks.map((ch) => ch.id)).size, 1);
    assert.equal(new Set(chunks.map((ch) => ch.created)).size, 1);
    for (const ch of chunks) {
      assert.equal(ch.object, 'chat.completion.chunk');
      assert.equal(ch.model, 'support');
    }
    const text = chunks.flatMap((ch) => ch.choices).map((x) => x.delta?.content ?? '').join('');
    assert.equal(text, '¡Hola! Con gusto te ayudo en español.');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.total_tokens > 0);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
    const stop = chunks.at(-2);
    assert.equal(stop.choices[0].finish_reason, 'stop');
    assert.equal(stop.handoff.agent, 'Spanish agent');
    for (const ch of chunks.slice(0, -1)) assert.equal(ch.usage ?? null, null);

    // The streaming helper of the client agrees.
    const runner = c.chat.completions.stream({
      model: 'support', messages: [user('Hello, how are you?')],
    });
    const done = await runner.finalChatCompletion();
    assert.equal(done.choices[0].message.content, "Hello! I'm happy to help you in English.");

    // Errors through the client's exception types.
    const nf = await rejects(c.chat.completions.create({ model: 'nope', messages: [user('x')] }),
                             NotFoundError, 404, 'model_not_found');
    assert.match(nf.message, /support/);
    const bad = await rejects(c.chat.completions.create({ model: 'support', n: 2,
                                                          messages: [user('x')] }),
                              BadRequestError, 400, 'invalid_value');
    assert.equal(bad.param, 'n');
    await rejects(c.chat.completions.create({
      model: 'support', messages: [user('x')],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    }), BadRequestError, 400, 'tools_not_supported');
    await rejects(c.chat.completions.create({ model: 'nope', stream: true, messages: [user('x')] }),
                  NotFoundError, 404, 'model_not_found');

    // GET /v1/models through the client.
    const models = [];
    for await (const m of c.models.list()) models.push(m.id);
    assert.deepEqual(models, ['support']);
  },

  // --keys-file: no key or a wrong key → AuthenticationError; the key works.
  async auth() {
    const key = process.env.HANDOFF_SERVE_KEY;
    assert.ok(key);
    const e = await rejects(client({ apiKey: 'sk-wrong' }).chat.completions
      .create({ model: 'support', messages: [user('Hello')] }), AuthenticationError, 401,
                            'invalid_api_key');
    assert.ok(!e.message.includes(key));
    await rejects(client({ apiKey: 'sk-wrong' }).models.list(), AuthenticationError, 401,
                  'invalid_api_key');
    const ok = await client({ apiKey: key }).chat.completions
      .create({ model: 'support', messages: [user('Hello')] });
    assert.equal(ok.handoff.agent, 'English agent');
  },

  // The first upstream call stalls: a second turn on the session gets 409
  // (ConflictError); the first is abandoned (the test then checks that it
  // stored nothing).
  async busy() {
    const c = client({ defaultHeaders: { 'X-Handoff-Session': 'conv-busy' } });
    const ac = new AbortController();
    const first = c.chat.completions.create({ model: 'support', messages: [user('Hello')] },
                                            { signal: ac.signal });
    first.catch(() => {});
    // Wait for the condition: the turn is in flight (the server's gauge).
    for (;;) {
      const m = await (await fetch(`${url}/metrics`)).text();
      if (/\nhandoff_turns_in_flight 1\n/.test(m)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await rejects(c.chat.completions.create({ model: 'support', messages: [user('Hello again')] }),
                  ConflictError, 409, 'session_busy');
    ac.abort();
    await assert.rejects(first, APIUserAbortError);
  },

  // The upstream fails every time (the server's client retries): the
  // status and code of the row (argv: STATUS CODE MESSAGE-PATTERN) through
  // the client's exception for it (InternalServerError for 5xx), streaming
  // or not; the session is 'conv-up'.
  async upstream() {
    const [status, code, says] = [Number(process.argv[3]), process.argv[4], process.argv[5]];
    const c = client({ defaultHeaders: { 'X-Handoff-Session': 'conv-up' } });
    for (const stream of [false, true]) {
      const e = await rejects(c.chat.completions.create({ model: 'support', stream,
                                                          messages: [user('Hello')] }),
                              InternalServerError, status, code);
      assert.equal(e.type, 'upstream_error');
      assert.match(e.message, new RegExp(says));
    }
  },
};

const name = process.argv[2];
assert.ok(cases[name], `unknown case ${name}; cases: ${Object.keys(cases).join(', ')}`);
await cases[name]();
console.log(`openai_client ${name}: ok`);
