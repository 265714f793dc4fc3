/**
 * An MCP server built with the v2 TypeScript SDK (`@modelcontextprotocol/server`,
 * `createMcpHandler`), serving both eras, whose every request is decided by mcp-warden
 * before a tool runs. See examples/README.md to run it.
 */
import { createServer } from 'node:http';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, type AuthInfo } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { createWardenClient, guardFactory } from '../src/sdk/index.ts';

const WARDEN_URL = process.env.MCP_WARDEN_URL ?? 'http://127.0.0.1:8181';
// The server id is the audience the tokens are minted for (dev-token uses this one).
const SERVER_ID = process.env.MCP_SERVER_ID ?? 'https://mcp.example.com/files';
const PORT = Number(process.env.PORT ?? 3000);

// One client, one keep-alive pool, for every request. Any failure to decide is a deny.
const warden = createWardenClient({ url: WARDEN_URL, apiKey: process.env.MCP_WARDEN_API_KEY, timeoutMs: 2000 });

const files = new Map([
  ['/srv/data/report.txt', 'Q3: all green.'],
  ['/srv/data/notes.txt', 'Buy milk.'],
]);

/** A fresh McpServer per request, as the v2 SDK serves. The tools hold no authorization logic. */
function buildServer(): McpServer {
  const server = new McpServer({ name: 'files', version: '1.0.0' });
  const path = { inputSchema: z.object({ path: z.string() }) };
  server.registerTool('fs_read', { description: 'Read a file under /srv/data/', ...path }, async ({ path: file }) => ({
    content: [{ type: 'text', text: files.get(file) ?? `no such file: ${file}` }],
  }));
  server.registerTool('fs_list', { description: 'List /srv/data/', ...path }, async ({ path: dir }) => ({
    content: [{ type: 'text', text: [...files.keys()].filter((f) => f.startsWith(dir)).join('\n') }],
  }));
  return server;
}

// 2026-07-28 requests, and 2025-era ones through the SDK's stateless legacy fallback: each
// instance the factory makes connects through the guard.
const handler = createMcpHandler(guardFactory(buildServer, { warden, server: SERVER_ID }), {
  onerror: (err) => console.error(err.message),
});
const serve = toNodeHandler(handler);
const validHost = localhostHostValidation();

const http = createServer((req, res) => {
  if (!validHost(req, res)) return;
  // The guard reads the token from `authInfo`. It is not checked here: mcp-warden verifies
  // it on every request, and denies one without it.
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  const auth: AuthInfo | undefined =
    bearer?.[1] === undefined ? undefined : { token: bearer[1], clientId: 'unknown', scopes: [] };
  serve(Object.assign(req, { auth }), res).catch((err: unknown) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500).end();
  });
});

http.listen(PORT, '127.0.0.1', () => {
  console.log(`guarded MCP server (v2 SDK) on http://127.0.0.1:${PORT}/mcp, deciding with ${WARDEN_URL}`);
});
