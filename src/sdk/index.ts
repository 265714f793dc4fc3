/**
 * The SDK for enforcement points: a typed client of the decision API, an in-process
 * warden, and a guard for MCP SDK servers over any transport: `@modelcontextprotocol/sdk`
 * 1.x, and `@modelcontextprotocol/server` 2.x in both eras.
 */
export { createWardenClient, type WardenClientOptions } from '../pep/http-warden.ts';
export { FORBIDDEN_CODE, guardTransport, type GuardOptions } from './guard.ts';
export { guardFactory } from './guard-factory.ts';
export type { GuardExtra } from './extra.ts';
export { inProcessWarden } from '../pep/in-process.ts';
export { WardenRefusal, type Warden } from '../pep/warden.ts';
export type {
  Caller,
  CreateSessionRequest,
  Decision,
  DecideRequest,
  McpRequest,
  SessionView,
  WidenRequest,
} from '../decision/types.ts';
export type { Reason } from '../errors.ts';
