// The official openai npm client (v4) against `t2 serve` on the default model and a bundle
// (tests/test_serve_openai.sh starts the server): /v1/models, chat completions whole and
// streamed (the streamed text is the whole answer's: greedy), a completion, and an error the
// client raises as its APIError with the server's status and code.
// usage: node test_serve_openai.mjs CLIENT_FOLDER BASE_URL
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const [folder, baseURL] = process.argv.slice(2);
const require = createRequire(folder + '/package.json');
const mod = require('openai');
const OpenAI = mod.OpenAI ?? mod.default ?? mod;
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 60000 });

const models = [];
for await (const m of client.models.list()) models.push(m.id);
assert.deepEqual(models, ['base', 'math', 'code', 'auto']);

const messages = [{ role: 'user', content: 'What is 3 + 4?' }];
for (const model of ['base', 'math', 'auto']) {
  const whole = await client.chat.completions.create({ model, messages, max_tokens: 16,
                                                       temperature: 0 });
  assert.equal(whole.object, 'chat.completion');
  const choice = whole.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  if (model === 'auto') assert.match(whole.t2_adaptation, /^auto:(base|math|code)$/);
  else assert.equal(whole.t2_adaptation, model);

  const stream = await client.chat.completions.create({ model, messages, max_tokens: 16,
                                                        temperature: 0, stream: true,
                                                        stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, choice.message.content, `${model}: the stream's text`);
  assert.equal(finish, choice.finish_reason);
  assert.deepEqual(usage.completion_tokens, whole.usage.completion_tokens);
  console.log(`${model}: ${chunks} chunks, ${whole.usage.completion_tokens} tokens, answered by ${whole.t2_adaptation}`);
}

const completion = await client.completions.create({ model: 'code', prompt: 'def add(a, b):',
                                                     max_tokens: 8, temperature: 0 });
assert.equal(completion.object, 'text_completion');
assert.equal(typeof completion.choices[0].text, 'string');

await assert.rejects(
  client.chat.completions.create({ model: 'nobody', messages }),
  (e) => e instanceof OpenAI.APIError && e.status === 404 && e.code === 'model_not_found');
await assert.rejects(
  client.chat.completions.create({ model: 'base', messages: [] }),
  (e) => e instanceof OpenAI.APIError && e.status === 400 && e.param === 'messages');
console.log('openai client: all checks passed');
