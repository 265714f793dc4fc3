import type { McpServer, McpServerFactory, Server } from '@modelcontextprotocol/server';
import { decideRequest } from '../pep/enforce.ts';
import { WardenRefusal } from '../pep/warden.ts';
import { headerOf, type GuardExtra } from './extra.ts';
import { guardTransport } from './guard.ts';
import { assertGuardOptions, defaultSupervisor, guardContext, type GuardOptions } from './options.ts';

/** The 2026-07-28 request `createMcpHandler` serves from its own router, past the instance's transport. */
const LISTEN = 'subscriptions/listen';

/**
 * Guards every server a `@modelcontextprotocol/server` 2.x factory makes: pass the result
 * to `createMcpHandler` in place of the factory. Each instance connects through
 * {@link guardTransport}, held to the era the entry made it for (`ctx.era`), so that
 * 2025-era requests (the stateless legacy fallback) and 2026-07-28 ones are decided
 * before a handler runs, with the token of `ctx.authInfo`. All instances share one
 * stream supervisor (`options.supervisor`, else one of the factory's).
 *
 * `createMcpHandler` serves `subscriptions/listen` from its own router, without
 * connecting the instance, so the guard decides it here, from the `Mcp-Method` header
 * (the entry has checked it against the body before it asks the factory). A refusal
 * throws a {@link WardenRefusal}: the entry answers an internal error (HTTP 500,
 * -32603) and reports it to its `onerror`. An allowed stream is not screened by the
 * guard, so it carries no `notifications/resources/updated` (the instance offers the
 * router no resource subscriptions): which resources the principal may see is not known
 * there. List-changed notifications name nothing and pass.
 */
export function guardFactory(factory: McpServerFactory, options: GuardOptions): McpServerFactory {
  assertGuardOptions(options, 'guardFactory');
  const supervisor = options.supervisor ?? defaultSupervisor(options.warden);
  return async (ctx) => {
    const extra: GuardExtra = { authInfo: ctx.authInfo, request: ctx.requestInfo };
    const listen = ctx.era === 'modern' && headerOf(extra, 'mcp-method') === LISTEN;
    if (listen) await decideListen(options, extra);
    const product = await factory(ctx);
    if (listen) withoutResourceSubscriptions(product);
    const connect = product.connect.bind(product);
    const guarded: GuardOptions = { ...options, supervisor, era: ctx.era };
    product.connect = (transport) => connect(guardTransport(transport, guarded));
    return product;
  };
}

/** A `subscriptions/listen` the decision refuses is thrown, before any instance is made for it. */
async function decideListen(options: GuardOptions, extra: GuardExtra): Promise<void> {
  const version = headerOf(extra, 'mcp-protocol-version');
  const decision = await decideRequest(
    { ...guardContext(options, extra, undefined, version), widenOnDemand: false },
    { method: LISTEN, protocol_version: version },
  );
  if (decision.allow) return;
  const first = decision.reasons[0] ?? { code: 'denied', message: 'denied' };
  throw new WardenRefusal(first.code, `${LISTEN} refused: ${first.message}`, decision.reasons);
}

/** The instance a listen stream is served from, offering it no resource subscriptions (it asks only for them). */
function withoutResourceSubscriptions(product: McpServer | Server): void {
  const server = 'server' in product ? product.server : product;
  const capabilities = server.getCapabilities.bind(server);
  server.getCapabilities = () => {
    const declared = capabilities();
    if (declared.resources === undefined) return declared;
    const { subscribe: _withheld, ...resources } = declared.resources;
    return { ...declared, resources };
  };
}
