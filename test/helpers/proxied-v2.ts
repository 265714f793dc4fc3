import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startCountingTap, type CountingTap } from './everything.ts';
import { startTestProxy, type TestProxy } from './proxy.ts';
import { startV2Server, type V2Server, type V2ServerOptions } from './v2-server.ts';

/** A v2 (MCP 2026-07-28) upstream behind a counting tap, and the test proxy in front. */
export interface ProxiedV2 {
  readonly v2: V2Server;
  readonly tap: CountingTap;
  readonly proxy: TestProxy;
}

/**
 * Registers the hooks of a test file that runs against {@link ProxiedV2}: started once,
 * with the tap, the upstream's records and the audit trail cleared before each test.
 * The parts are there once `beforeAll` ran.
 */
export function proxiedV2(options: V2ServerOptions = {}): ProxiedV2 {
  const parts: { v2?: V2Server; tap?: CountingTap; proxy?: TestProxy } = {};
  beforeAll(async () => {
    parts.v2 = await startV2Server(options);
    parts.tap = await startCountingTap(parts.v2.url);
    parts.proxy = await startTestProxy(parts.tap.url);
  });
  afterAll(async () => {
    await parts.proxy?.stop();
    await parts.tap?.stop();
    await parts.v2?.stop();
  });
  beforeEach(() => {
    parts.tap?.reset();
    parts.v2?.reset();
    if (parts.proxy !== undefined) parts.proxy.core.audit.saved.length = 0;
  });
  return {
    get v2() {
      return parts.v2!;
    },
    get tap() {
      return parts.tap!;
    },
    get proxy() {
      return parts.proxy!;
    },
  };
}
