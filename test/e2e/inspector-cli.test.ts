import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EVERYTHING_READER_TOOLS,
  startCountingTap,
  startEverything,
  type CountingTap,
  type Everything,
} from '../helpers/everything.ts';
import { inspectorInstall, recordStatuses, runInspectorCli } from '../helpers/inspector.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';

// MCP Inspector 2.x's CLI (the version scripts/setup.sh pins, in .tools/inspector) run as a
// user runs it, `mcp-inspector --cli <url> --method …`, against server-everything directly
// and through the proxy (default Rego, server-everything's catalogue) with a counting tap
// in front of the upstream. Each run is its own process and its own MCP session: initialize,
// notifications/initialized, logging/setLevel (the CLI asks for debug logs of a server that
// offers logging), then the method — tools/call looks its tool up in tools/list first.
let everything: Everything;
let tap: CountingTap;
let proxy: TestProxy;
let http: ReturnType<typeof recordStatuses>;

const TIMEOUT = 120_000; // a few child processes, each starting Node and the Inspector

const READER_TOOLS = EVERYTHING_READER_TOOLS;

beforeAll(async () => {
  everything = await startEverything();
  tap = await startCountingTap(everything.url);
  proxy = await startTestProxy(tap.url);
  http = recordStatuses(proxy.app.server);
});
afterAll(async () => {
  http?.stop();
  await proxy?.stop();
  await tap?.stop();
  await everything?.stop();
});
beforeEach(() => {
  tap.reset();
  http.reset();
  proxy.core.audit.saved.length = 0;
});

/** `mcp-inspector --cli <url> --transport http --format json <args>`, with a bearer token when given. */
function inspector(url: string, args: string[], token?: string) {
  const auth = token === undefined ? [] : ['--header', `Authorization: Bearer ${token}`];
  return runInspectorCli([url, '--transport', 'http', '--format', 'json', ...args, ...auth]);
}

const direct = (args: string[]) => inspector(everything.url, args);
const proxied = async (args: string[], scope = 'mcp:read') =>
  inspector(proxy.url, args, await proxy.token('alice', scope));

function decisions(method: string) {
  return proxy.core.audit.saved.filter((r) => r.kind === 'decision' && r.method === method);
}

interface Tool {
  name: string;
}

// inspectorInstall() fails the file, with what to run, when setup did not install the Inspector.
describe(`MCP Inspector ${inspectorInstall().version} CLI through the proxy`, () => {
  it(
    'lists the tools directly and through the proxy, which shows a reader the policy-filtered subset',
    async () => {
      const upstream = await direct(['--method', 'tools/list']);
      expect(upstream.code, upstream.stderr).toBe(0);
      const all = (upstream.result as { tools: Tool[] }).tools;
      // server-everything has tools the policy hides from a reader: admin-only get-env, and
      // get-resource-links, which the policy's catalogue does not know.
      expect(all.map((t) => t.name)).toEqual(
        expect.arrayContaining([...READER_TOOLS, 'get-env', 'get-resource-links']),
      );

      const through = await proxied(['--method', 'tools/list']);
      expect(through.code, through.stderr).toBe(0);
      const seen = (through.result as { tools: Tool[] }).tools;
      expect(seen.map((t) => t.name).sort()).toEqual(READER_TOOLS);
      // The same definitions as the upstream's, in its order: filtered, not rewritten.
      expect(seen).toEqual(all.filter((t) => READER_TOOLS.includes(t.name)));

      // The session the Inspector opens is the one a user gets, logging/setLevel included.
      expect(tap.requests().map((m) => m.method)).toEqual(
        expect.arrayContaining(['initialize', 'notifications/initialized', 'logging/setLevel', 'tools/list']),
      );
      expect(decisions('logging/setLevel').map((r) => r.allow)).toEqual([true]);
      expect(http.statuses().filter((s) => s.method === 'POST' && s.status >= 400)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'returns the same result for an allowed tools/call directly and through the proxy',
    async () => {
      const calls: Array<{ args: string[]; want: unknown }> = [
        {
          args: ['--tool-name', 'echo', '--tool-arg', 'message=hello inspector'],
          want: { content: [{ type: 'text', text: 'Echo: hello inspector' }] },
        },
        {
          // --tool-arg values are coerced by the tool's input schema, which the Inspector read from the list.
          args: ['--tool-name', 'get-sum', '--tool-arg', 'a=2', 'b=40'],
          want: { content: [{ type: 'text', text: expect.stringContaining('42') }] },
        },
      ];
      for (const { args, want } of calls) {
        const upstream = await direct(['--method', 'tools/call', ...args]);
        expect(upstream.code, upstream.stderr).toBe(0);
        expect(upstream.result).toMatchObject(want as object);
        tap.reset();
        const through = await proxied(['--method', 'tools/call', ...args]);
        expect(through.code, through.stderr).toBe(0);
        expect(through.result).toEqual(upstream.result);
        expect(tap.counts()[`tools/call:${args[1]}`]).toBe(1);
      }
      // `--protocol-era auto`: server/discover first (server-everything speaks only the legacy era), then legacy.
      const echo = ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi'];
      const auto = await proxied(['--protocol-era', 'auto', ...echo]);
      expect(auto.code, auto.stderr).toBe(0);
      expect(auto.result).toEqual((await direct(['--protocol-era', 'auto', ...echo])).result);
      expect(auto.result).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    },
    TIMEOUT,
  );

  it(
    'refuses a tool the policy hides: the Inspector finds it missing and never sends the call',
    async () => {
      for (const name of ['get-env', 'get-resource-links']) {
        const args = ['--method', 'tools/call', '--tool-name', name];
        const upstream = await direct(args);
        expect(upstream.code, `${name} directly: ${upstream.stderr}`).toBe(0);
        tap.reset();
        proxy.core.audit.saved.length = 0;
        // The Inspector looks the tool up in tools/list before calling it; the proxy's filtered
        // list does not have it, so the refusal is the Inspector's tool_not_found (exit 5).
        const through = await proxied(args);
        expect(through.code).toBe(5);
        expect(through.error).toEqual({ code: 'tool_not_found', message: `Tool '${name}' not found on server.` });
        expect(tap.counts()['tools/list']).toBe(1);
        expect(tap.counts()['tools/call']).toBeUndefined();
        expect(decisions('tools/list').length).toBeGreaterThan(0);
        expect(decisions('tools/call')).toEqual([]);
      }
      // An admin may call get-env (granted by a widening on demand, as proxy-everything.test.ts
      // shows with the SDK client), but a session lists a destructive tool only once its scope
      // holds it, and the Inspector calls only what the list shows: get-env stays out of reach.
      const admin = await proxied(['--method', 'tools/call', '--tool-name', 'get-env'], 'mcp:admin');
      expect(admin.code).toBe(5);
      expect(admin.error?.code).toBe('tool_not_found');
    },
    TIMEOUT,
  );

  it(
    'refuses a request the policy denies when it is made, and the upstream never sees it',
    async () => {
      // prompts/get is sent as asked (no lookup first): args-prompt needs mcp:write, so the
      // proxy answers 403 insufficient_scope, which the Inspector reports (exit 1).
      const args = ['--method', 'prompts/get', '--prompt-name', 'args-prompt', '--prompt-args', 'city=Paris'];
      const upstream = await direct(args);
      expect(upstream.code, upstream.stderr).toBe(0);
      expect(upstream.result).toMatchObject({ messages: [{ content: { text: "What's weather in Paris?" } }] });
      tap.reset();
      const through = await proxied(args);
      expect(through.code).toBe(1);
      expect(through.error?.message).toMatch(/^Insufficient scope: required "[^"]*mcp:write[^"]*"$/);
      expect(tap.counts()['prompts/get']).toBeUndefined();
      const [denied, ...more] = decisions('prompts/get');
      expect(more).toEqual([]);
      expect(denied?.allow).toBe(false);
      expect(denied?.reasons.map((r) => r.code)).toContain('prompt_not_permitted');
      expect(http.statuses().filter((s) => s.status === 403)).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'refuses a connection without a token with 401, before anything reaches the upstream',
    async () => {
      // As run from a script (no TTY): the Inspector cannot start interactive OAuth.
      const plain = await inspector(proxy.url, ['--method', 'tools/list']);
      expect(plain.code).toBe(3);
      expect(plain.error?.code).toBe('auth_required');
      // --stored-auth-only, the Inspector's flag for CI: the proxy's own answer comes through.
      const ci = await inspector(proxy.url, ['--method', 'tools/list', '--stored-auth-only']);
      expect(ci.code).toBe(3);
      expect(ci.error?.code).toBe('auth_required');
      expect(ci.error?.message).toContain('token_missing');
      const statuses = http.statuses();
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.map((s) => s.status)).toEqual(statuses.map(() => 401));
      expect(tap.requests()).toEqual([]);
      expect(decisions('initialize').map((r) => r.reasons.map((reason) => reason.code))).toEqual([
        ['token_missing'],
        ['token_missing'],
      ]);
    },
    TIMEOUT,
  );
});
