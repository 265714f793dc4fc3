/**
 * The SDK for enforcement points: a typed client of the decision API, an in-process
 * warden, and a guard for `@modelcontextprotocol/sdk` servers over any transport.
 */
export { createWardenClient, type WardenClientOptions } from '../pep/http-warden.ts';
export { FORBIDDEN_CODE, guardTransport, type GuardOptions } from './guard.ts';
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
