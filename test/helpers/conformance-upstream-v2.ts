import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  McpServer,
  ResourceTemplate,
  type CallToolResult,
  type InputRequests,
  type InputRequiredResult,
  type McpHttpHandler,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

/** The fixture upstream of the 2026-07-28 conformance run, on loopback. */
export interface ConformanceUpstream {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  stop(): Promise<void>;
}

// A 1×1 PNG and a minimal WAV: the suite checks type and MIME type, not the pixels.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const askFor = (message: string, field: string) =>
  inputRequired.elicit({
    message,
    requestedSchema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] },
  });
const confirm = () =>
  inputRequired.elicit({
    message: 'Please confirm',
    requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
  });
const ask = (prompt: string, maxTokens: number) =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens });
const none = z.object({});

/**
 * The catalogue the suite's server scenarios call by name (`test_simple_text`,
 * `test://static-text`, `test_simple_prompt`, …): content tools, the SEP-2575
 * `server-stateless` diagnostics, the SEP-2243 `x-mcp-header` tool, the JSON Schema 2020-12
 * tool, and the multi-round-trip (`input_required`) tools and prompt. The requestState a
 * tool mints is sealed with `codec` and verified before the handler runs, as the
 * specification requires of state a server acts on.
 */
function buildServer(handler: () => McpHttpHandler, codec: ReturnType<typeof createRequestStateCodec>): McpServer {
  const mcp = new McpServer(
    { name: 'warden-conformance-upstream', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { listChanged: true },
        prompts: { listChanged: true },
        completions: {},
      },
      requestState: { verify: codec.verify },
    },
  );
  contentTools(mcp);
  diagnosticTools(mcp, handler);
  inputRequiredTools(mcp, codec);
  resources(mcp);
  prompts(mcp);
  mcp.server.setRequestHandler('completion/complete', async () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
  return mcp;
}

function contentTools(mcp: McpServer): void {
  const fixed = (name: string, description: string, result: CallToolResult) =>
    mcp.registerTool(name, { description }, async () => result);
  fixed('test_simple_text', 'A text answer', text('This is a simple text response for testing.'));
  fixed('test_image_content', 'An image answer', { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] });
  fixed('test_audio_content', 'An audio answer', { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] });
  const embedded = { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'An embedded resource.' };
  fixed('test_embedded_resource', 'An embedded resource', { content: [{ type: 'resource', resource: embedded }] });
  fixed('test_multiple_content_types', 'Text, image and resource', {
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"value":123}' },
      },
    ],
  });
  mcp.registerTool('test_error_handling', { description: 'Fails' }, async () => {
    throw new Error('This tool intentionally returns an error for testing');
  });
  mcp.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress', inputSchema: none },
    async (_, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      // Progress only for a caller that asked for it (a progressToken).
      for (const progress of progressToken === undefined ? [] : [0, 50, 100]) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
        await sleep(20);
      }
      return text(String(progressToken ?? 'no-progress-token'));
    },
  );
  const schema2020 = fromJsonSchema({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: {
      address: {
        $anchor: 'addressDef',
        type: 'object',
        properties: { street: { type: 'string' }, city: { type: 'string' } },
      },
    },
    properties: {
      name: { type: 'string' },
      address: { $ref: '#/$defs/address' },
      contactMethod: { type: 'string', enum: ['phone', 'email'] },
      phone: { type: 'string' },
      email: { type: 'string' },
    },
    allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
    if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
    // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema 2020-12 keyword.
    then: { required: ['phone'] },
    else: { required: ['email'] },
    additionalProperties: false,
  });
  mcp.registerTool(
    'json_schema_2020_12_tool',
    { description: 'A 2020-12 schema', inputSchema: schema2020 },
    async (a) => text(JSON.stringify(a)),
  );
}

/** The tools the SEP-2575 and SEP-2243 scenarios look for by name. */
function diagnosticTools(mcp: McpServer, handler: () => McpHttpHandler): void {
  const mirrored = { type: 'string', 'x-mcp-header': 'Region' } as const;
  const region = fromJsonSchema<{ region?: string; level?: number }>({
    type: 'object',
    properties: { region: mirrored, level: { type: 'integer' } },
  });
  mcp.registerTool('test_x_mcp_header', { description: 'Mirrors region in a header', inputSchema: region }, async (a) =>
    text(`region=${a.region ?? '<none>'}`),
  );
  // Needs sampling: a client that did not declare it is refused (-32021) by the SDK.
  mcp.registerTool('test_missing_capability', { description: 'Needs sampling', inputSchema: none }, async (_, ctx) =>
    ctx.mcpReq.inputResponses?.llm_answer === undefined
      ? inputRequired({ inputRequests: { llm_answer: ask('Reply with the single word: pong', 16) } })
      : text('sampling round trip complete'),
  );
  mcp.registerTool('test_streaming_elicitation', { description: 'Answers', inputSchema: none }, async () =>
    text('result frames only'),
  );
  // The SDK delivers the log only when the request's _meta asked for a log level.
  mcp.registerTool('test_logging_tool', { description: 'Logs', inputSchema: none }, async (_, ctx) => {
    await ctx.mcpReq.log('info', 'test_logging_tool ran');
    return text('logged');
  });
  mcp.registerTool('test_trigger_tool_change', { description: 'Tools changed', inputSchema: none }, async () => {
    handler().notify.toolsChanged();
    return text('tools list changed');
  });
  mcp.registerTool('test_trigger_prompt_change', { description: 'Prompts changed', inputSchema: none }, async () => {
    handler().notify.promptsChanged();
    return text('prompts list changed');
  });
}

/** SEP-2322 multi-round-trip tools: each answers `input_required` until the retry carries what it asked for. */
function inputRequiredTools(mcp: McpServer, codec: ReturnType<typeof createRequestStateCodec>): void {
  type Answer = CallToolResult | InputRequiredResult;
  const tool = (name: string, run: (ctx: ServerContext) => Promise<Answer> | Answer) =>
    mcp.registerTool(name, { description: `Multi-round trip: ${name}`, inputSchema: none }, async (_, ctx) => run(ctx));
  const state = (payload: Record<string, unknown>) => codec.mint({ ...payload, nonce: randomUUID() });
  const answered = <T extends Record<string, unknown>>(ctx: ServerContext, key: string) =>
    acceptedContent<T>(ctx.mcpReq.inputResponses, key);

  tool('test_input_required_result_elicitation', (ctx) => {
    const name = answered<{ name: string }>(ctx, 'user_name')?.name;
    if (typeof name === 'string') return text(`Hello, ${name}!`);
    return inputRequired({ inputRequests: { user_name: askFor('What is your name?', 'name') } });
  });
  tool('test_input_required_result_sampling', (ctx) => {
    const answer = ctx.mcpReq.inputResponses?.capital_question as { content?: { text?: string } } | undefined;
    if (answer !== undefined) return text(`Sampling response: ${answer.content?.text ?? JSON.stringify(answer)}`);
    return inputRequired({ inputRequests: { capital_question: ask('What is the capital of France?', 100) } });
  });
  tool('test_input_required_result_list_roots', (ctx) => {
    const roots = (ctx.mcpReq.inputResponses?.client_roots as { roots?: unknown[] } | undefined)?.roots;
    if (Array.isArray(roots)) return text(`${roots.length} root(s)`);
    return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
  });
  tool('test_input_required_result_request_state', async (ctx) => {
    if (answered(ctx, 'confirm') !== undefined && ctx.mcpReq.requestState() !== undefined)
      return text('state-ok: requestState verified and confirmation received');
    const inputRequests = { confirm: confirm() };
    return inputRequired({ inputRequests, requestState: await state({ tool: 'request_state' }) });
  });
  tool('test_input_required_result_multiple_inputs', async (ctx) => {
    const responses = ctx.mcpReq.inputResponses;
    const name = answered<{ name: string }>(ctx, 'user_name')?.name;
    const greeting = (responses?.greeting as { content?: { text?: string } } | undefined)?.content?.text;
    const roots = (responses?.client_roots as { roots?: unknown[] } | undefined)?.roots;
    if (typeof name === 'string' && typeof greeting === 'string' && Array.isArray(roots))
      return text(`${greeting} ${name}: ${roots.length} root(s)`);
    const inputRequests: InputRequests = {
      user_name: askFor('What is your name?', 'name'),
      greeting: ask('Generate a greeting', 50),
      client_roots: inputRequired.listRoots(),
    };
    return inputRequired({ inputRequests, requestState: await state({ tool: 'multiple_inputs' }) });
  });
  // The round lives in the sealed requestState: every request is served by a fresh instance.
  tool('test_input_required_result_multi_round', async (ctx) => {
    const prior = ctx.mcpReq.requestState<Record<string, unknown>>();
    const round = prior?.tool === 'multi_round' && typeof prior.round === 'number' ? prior.round : 0;
    if (round === 0) {
      const inputRequests = { step1: askFor('Step 1: What is your name?', 'name') };
      return inputRequired({ inputRequests, requestState: await state({ tool: 'multi_round', round: 1 }) });
    }
    if (round === 1) {
      const name = answered<{ name: string }>(ctx, 'step1')?.name ?? 'unknown';
      const inputRequests = { step2: askFor('Step 2: What is your favorite color?', 'color') };
      return inputRequired({ inputRequests, requestState: await state({ tool: 'multi_round', round: 2, name }) });
    }
    const color = answered<{ color: string }>(ctx, 'step2')?.color ?? 'unknown';
    return text(`Multi-round complete: ${String(prior?.name)} likes ${color}`);
  });
  tool('test_input_required_result_tampered_state', async (ctx) => {
    if (ctx.mcpReq.requestState() !== undefined && answered(ctx, 'confirm') !== undefined)
      return text('integrity-ok: requestState verified');
    const inputRequests = { confirm: confirm() };
    return inputRequired({ inputRequests, requestState: await state({ tool: 'tampered_state' }) });
  });
  // Asks only for the kinds of input the request's declared client capabilities cover.
  tool('test_input_required_result_capabilities', (ctx) => {
    if (ctx.mcpReq.inputResponses !== undefined) return text('Capability-aware input requests fulfilled');
    const envelope = ctx.mcpReq.envelope as Record<string, Record<string, unknown> | undefined> | undefined;
    const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY];
    const inputRequests: InputRequests = {};
    if (declared?.elicitation !== undefined) inputRequests.user_name = askFor('What is your name?', 'name');
    if (declared?.sampling !== undefined) inputRequests.greeting = ask('Generate a short greeting', 50);
    if (declared?.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots();
    if (Object.keys(inputRequests).length === 0) return text('No declared capability takes an input request');
    return inputRequired({ inputRequests });
  });
}

function resources(mcp: McpServer): void {
  type Content = { mimeType: string; text: string } | { mimeType: string; blob: string };
  const fixed = (name: string, uri: string, content: Content) =>
    mcp.registerResource(name, uri, { mimeType: content.mimeType }, async () => ({ contents: [{ uri, ...content }] }));
  fixed('static-text', 'test://static-text', { mimeType: 'text/plain', text: 'The static text resource.' });
  fixed('static-binary', 'test://static-binary', { mimeType: 'image/png', blob: PNG });
  fixed('watched-resource', 'test://watched-resource', { mimeType: 'text/plain', text: 'Watched resource content' });
  const template = new ResourceTemplate('test://template/{id}/data', { list: undefined });
  mcp.registerResource('template', template, { mimeType: 'application/json' }, async (uri, { id }) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true }) }],
  }));
}

function prompts(mcp: McpServer): void {
  const user = (content: Record<string, unknown>) => ({ role: 'user' as const, content: content as never });
  mcp.registerPrompt('test_simple_prompt', { description: 'No arguments' }, () => ({
    messages: [user({ type: 'text', text: 'This is a simple prompt for testing.' })],
  }));
  const args = { arg1: z.string().describe('First argument'), arg2: z.string().describe('Second argument') };
  mcp.registerPrompt(
    'test_prompt_with_arguments',
    { description: 'Two arguments', argsSchema: z.object(args) },
    (a) => ({
      messages: [user({ type: 'text', text: `Prompt with arguments: arg1='${a.arg1}', arg2='${a.arg2}'` })],
    }),
  );
  const embedded = { argsSchema: z.object({ resourceUri: z.string().describe('The resource to embed') }) };
  mcp.registerPrompt('test_prompt_with_embedded_resource', { description: 'A resource', ...embedded }, (a) => ({
    messages: [
      user({ type: 'resource', resource: { uri: a.resourceUri, mimeType: 'text/plain', text: 'Embedded content.' } }),
      user({ type: 'text', text: 'Please process the embedded resource above.' }),
    ],
  }));
  mcp.registerPrompt('test_prompt_with_image', { description: 'An image' }, () => ({
    messages: [user({ type: 'image', data: PNG, mimeType: 'image/png' }), user({ type: 'text', text: 'The image.' })],
  }));
  // A prompt without arguments gets the request context as its only argument.
  mcp.registerPrompt('test_input_required_result_prompt', { description: 'Asks for context first' }, (ctx) => {
    const context = acceptedContent<{ context: string }>((ctx as ServerContext).mcpReq.inputResponses, 'user_context');
    if (typeof context?.context !== 'string')
      return inputRequired({ inputRequests: { user_context: askFor('What context?', 'context') } }) as never;
    return { messages: [user({ type: 'text', text: `Use the following context: ${context.context}` })] };
  });
}

/**
 * Serves the fixture catalogue with the v2 TypeScript SDK in this process: `createMcpHandler`
 * (a fresh `McpServer` per request; `server/discover`, the per-request envelope,
 * `subscriptions/listen` and the caching hints are the SDK's) behind `toNodeHandler` on a
 * kernel-chosen loopback port, with the SDK's localhost Host check (DNS rebinding).
 * Modern-only: 2025-era requests get the unsupported-protocol-version error.
 */
export async function startConformanceUpstream(): Promise<ConformanceUpstream> {
  const codec = createRequestStateCodec({ key: randomBytes(32) });
  const handler: McpHttpHandler = createMcpHandler(() => buildServer(() => handler, codec), { legacy: 'reject' });
  const serve = toNodeHandler(handler);
  const validHost = localhostHostValidation();
  const http = createServer((req, res) => {
    if (!validHost(req, res)) return;
    void serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stop() {
      stopping ??= (async () => {
        await handler.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
