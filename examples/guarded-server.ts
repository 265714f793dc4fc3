/**
 * An MCP server (the official TypeScript SDK, Streamable HTTP) whose every request is
 * decided by mcp-warden before a tool runs. See examples/README.md to run it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { z } from 'zod';
import { createWardenClient, guardTransport } from '../src/sdk/index.ts';

const WARDEN_URL = process.env.MCP_WARDEN_URL ?? 'http://127.0.0.1:8181';
// The server id is the audience the tokens are minted for (dev-token uses this one).
const SERVER_ID = process.env.MCP_SERVER_ID ?? 'https://mcp.example.com/files';
const PORT = Number(process.env.PORT ?? 3000);

// One client, one keep-alive pool, for every session. Any failure to decide is a deny.
const warden = createWardenClient({ url: WARDEN_URL, apiKey: process.env.MCP_WARDEN_API_KEY, timeoutMs: 2000 });

const files = new Map([
  ['/srv/data/report.txt', 'Q3: all green.'],
  ['/srv/data/notes.txt', 'Buy milk.'],
]);

/** One McpServer per session, as in the SDK docs. The tools hold no authorization logic. */
function buildServer(): McpServer {
  const server = new McpServer({ name: 'files', version: '1.0.0' });
  server.registerTool(
    'fs_read',
    { description: 'Read a file under /srv/data/', inputSchema: { path: z.string() } },
    async ({ path }) => ({
      content: [{ type: 'text', text: files.get(path) ?? `no such file: ${path}` }],
    }),
  );
  server.registerTool(
    'fs_list',
    { description: 'List /srv/data/', inputSchema: { path: z.string() } },
    async ({ path }) => ({
      content: [{ type: 'text', text: [...files.keys()].filter((f) => f.startsWith(path)).join('\n') }],
    }),
  );
  return server;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

const http = createServer((req: IncomingMessage & { auth?: AuthInfo }, res) => {
  // The guard reads the token from `req.auth` (the SDK passes it on as `authInfo`). It is
  // not checked here: mcp-warden verifies it on every request, and denies one without it.
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (bearer?.[1] !== undefined) req.auth = { token: bearer[1], clientId: 'unknown', scopes: [] };

  const sid = req.headers['mcp-session-id'];
  let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
  if (typeof sid === 'string' && transport === undefined) {
    res.writeHead(404).end('unknown session');
    return;
  }
  void (async () => {
    if (transport === undefined) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      // Set before connect: the guard chains it. It also runs when the guard ends a
      // revoked or expired session, so the client has to initialize again.
      created.onclose = () => void (created.sessionId && sessions.delete(created.sessionId));
      await buildServer().connect(guardTransport(created, { warden, server: SERVER_ID }));
      transport = created;
    }
    await transport.handleRequest(req, res);
  })().catch((err: unknown) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500).end();
  });
});

http.listen(PORT, '127.0.0.1', () => {
  console.log(`guarded MCP server on http://127.0.0.1:${PORT}/mcp, deciding with ${WARDEN_URL}`);
});
