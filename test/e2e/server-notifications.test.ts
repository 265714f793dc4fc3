import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { RELATED_TASK_META_KEY } from '../../src/pep/server-initiated.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { connectClient } from '../helpers/sdk-server.ts';
import { startSdkUpstream, type SdkUpstream } from '../helpers/sdk-upstream.ts';

// A server's own messages name state too: a resource that changed, a task's status. Behind
// the proxy every principal shares the upstream's one credential, so what an upstream
// announces on a principal's stream reaches that principal only if it may see it.
const READABLE = 'file:///srv/data/readme.txt';
const HIDDEN = 'file:///etc/passwd';

/** Notifications `fs_read` sends on its answer's stream before it answers, in this order. */
const ANNOUNCED = [
  { method: 'notifications/resources/updated', params: { uri: READABLE } },
  { method: 'notifications/resources/updated', params: { uri: HIDDEN } },
  {
    method: 'notifications/tasks/status',
    params: { taskId: 'task-of-someone-else', status: 'working', createdAt: '2026-12-03T00:00:00Z', ttl: null },
  },
  {
    method: 'notifications/message',
    params: { level: 'info', data: 'progress of a task', _meta: { [RELATED_TASK_META_KEY]: { taskId: 'task-x' } } },
  },
  { method: 'notifications/message', params: { level: 'info', data: 'a log line' } },
  { method: 'notifications/tools/list_changed' },
];

/** An SDK server whose `fs_read` sends {@link ANNOUNCED} on its answer's stream; `sent` counts them. */
async function startAnnouncingUpstream(): Promise<SdkUpstream & { sent: string[] }> {
  const sent: string[] = [];
  const served = await startSdkUpstream(() => {
    const mcp = new McpServer(
      { name: 'announcing', version: '1.0.0' },
      { capabilities: { logging: {}, resources: { subscribe: true } } },
    );
    mcp.registerTool('fs_read', { inputSchema: { path: z.string() } }, async (_args, extra) => {
      for (const notification of ANNOUNCED) {
        await extra.sendNotification(notification as never);
        sent.push(notification.method);
      }
      return { content: [{ type: 'text', text: 'done' }] };
    });
    return mcp;
  });
  return { ...served, sent };
}

describe('server notifications, through the proxy', () => {
  let upstream: SdkUpstream & { sent: string[] };
  let proxy: TestProxy;
  beforeAll(async () => {
    upstream = await startAnnouncingUpstream();
    proxy = await startTestProxy(upstream.url, { bundle: DEFAULT_BUNDLE });
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  const receivedThrough = async (url: string, token: string | undefined): Promise<unknown[]> => {
    const client = await connectClient(new URL(url), token);
    const received: unknown[] = [];
    client.fallbackNotificationHandler = async ({ method, params }) => void received.push({ method, params });
    await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });
    await client.close();
    return received;
  };

  it('directly, the client hears everything the upstream announces', async () => {
    expect(await receivedThrough(upstream.url, undefined)).toEqual(ANNOUNCED);
  });

  it("through the proxy, another principal's task and a resource the principal may not see are withheld", async () => {
    upstream.sent.length = 0;
    const received = await receivedThrough(proxy.url, await proxy.token('alice', 'mcp:read', { roles: ['reader'] }));
    expect(upstream.sent).toHaveLength(ANNOUNCED.length);
    expect(received).toEqual([ANNOUNCED[0], ANNOUNCED[4], ANNOUNCED[5]]);
    expect(JSON.stringify(received)).not.toContain('task-of-someone-else');
    expect(JSON.stringify(received)).not.toContain(HIDDEN);
  });
});
