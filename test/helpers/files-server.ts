import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** A real SDK (1.x) server with the default policy's files tools: fs_read, and fs_delete (parked for approval). */
export function filesServer(): McpServer {
  const server = new McpServer({ name: 'files', version: '1.0.0' });
  const path = { path: z.string() };
  server.registerTool('fs_read', { inputSchema: path }, async ({ path: p }) => ({
    content: [{ type: 'text', text: `read ${p}` }],
  }));
  server.registerTool('fs_delete', { inputSchema: path }, async ({ path: p }) => ({
    content: [{ type: 'text', text: `deleted ${p}` }],
  }));
  return server;
}
