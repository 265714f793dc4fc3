import type { DecideRequest } from '../../src/decision/types.ts';
import { BENCH_SERVER } from './issuer.ts';

/** A realistic allowed request: a reader calls fs_read under the permitted prefix, in a session. */
export function toolCallRequest(token: string, session: string): DecideRequest {
  return {
    token,
    session,
    server: BENCH_SERVER,
    mcp: {
      method: 'tools/call',
      params: { name: 'fs_read', arguments: { path: '/srv/data/reports/2026-q1.txt' } },
      protocol_version: '2025-06-18',
    },
  };
}
