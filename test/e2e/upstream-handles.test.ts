import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { boundStateHash } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { RESOURCE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  connectClient,
  refusalOf,
  startGuardedSdkServer,
  type GuardedSdkServer,
  type RefusalData,
} from '../helpers/sdk-server.ts';
import { SERVER } from '../helpers/tokens.ts';

// State handles the upstream mints itself: the default catalogue says search_docs returns
// its next-page `state` in structuredContent and takes it back in its `state` argument.
// A real SDK server mints them; the proxy (and the SDK guard) bind each to the caller.
const codes = (err: { data: RefusalData }) => err.data.reasons.map((r) => r.code);

interface Page {
  readonly structuredContent?: { readonly state?: string };
  readonly content?: unknown;
}

const search = (client: Client, state?: string) =>
  client.callTool({
    name: 'search_docs',
    arguments: { query: 'tides', ...(state === undefined ? {} : { state }) },
  }) as Promise<Page>;

describe.each(['proxy', 'guard'] as const)('upstream-minted state handles, through the %s', (via) => {
  let core: TestCore;
  let upstream: GuardedSdkServer;
  let proxy: TestProxy | undefined;
  let connect: (sub: string) => Promise<Client>;
  let server: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    if (via === 'proxy') {
      upstream = await startGuardedSdkServer(null);
      const started = await startTestProxy(upstream.url.href, { bundle: DEFAULT_BUNDLE });
      proxy = started;
      core = started.core;
      server = RESOURCE;
      connect = async (sub) =>
        connectClient(new URL(started.url), await started.token(sub, 'mcp:read', { roles: ['reader'] }));
    } else {
      core = await createTestCore();
      upstream = await startGuardedSdkServer(inProcessWarden(core.deps, PEP));
      server = SERVER;
      connect = async (sub) =>
        connectClient(upstream.url, await core.idp.mint({ roles: ['reader'] }, { subject: sub, expiresIn: 7200 }));
    }
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await proxy?.stop();
    await upstream?.close();
  });

  it('binds the handle as it leaves the upstream; the owner pages on with it', async () => {
    const alice = await connect('alice');
    clients.push(alice);
    const first = await search(alice);
    const state = first.structuredContent?.state;
    expect(state).toMatch(/^cursor:1:/);
    const bound = core.audit.saved.filter((r) => r.kind === 'handle.bound');
    expect(bound.at(-1)).toMatchObject({
      principal: { sub: 'alice' },
      detail: { handle: boundStateHash('upstream-handle', server, state!) },
    });
    const second = await search(alice, state);
    expect(second.structuredContent?.state).toMatch(/^cursor:2:/);
    const use = core.audit.saved.filter((r) => r.kind === 'decision' && r.tool === 'search_docs').at(-1);
    expect(use?.detail?.handle).toBe(boundStateHash('upstream-handle', server, state!));
  });

  it('refuses the handle for another principal, audited, and the upstream never sees it', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    clients.push(alice, bob);
    const state = (await search(alice)).structuredContent!.state!;
    const before = upstream.calls.length;
    const err = await refusalOf(search(bob, state));
    expect(codes(err)).toEqual(['handle_owner_mismatch']);
    expect(upstream.calls.length).toBe(before);
    const replay = core.audit.saved.filter((r) => r.kind === 'handle.owner_mismatch').at(-1);
    expect(replay).toMatchObject({
      principal: { sub: 'bob' },
      session: boundStateHash('upstream-handle', server, state),
    });
  });

  it('refuses a handle the upstream never returned through it', async () => {
    const alice = await connect('alice');
    clients.push(alice);
    const before = upstream.calls.length;
    expect(codes(await refusalOf(search(alice, 'cursor:1:guessed')))).toEqual(['handle_unknown']);
    expect(upstream.calls.length).toBe(before);
  });
});
