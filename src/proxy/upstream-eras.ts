import { FIRST_MODERN_VERSION, isModern, LEGACY_VERSIONS, META_PROTOCOL_VERSION, type Era } from '../pep/era.ts';
import type { Upstream } from './upstream.ts';

/** `proxy.upstream.protocol`: the eras the upstream speaks, or `auto` to probe them. */
export type UpstreamProtocol = 'auto' | 'legacy' | 'modern' | 'both';

/** The newest legacy version a probe offers. */
const LEGACY_PROBE_VERSION = '2025-11-25';
/** An upstream that could not be probed is asked again at most this often. */
const REPROBE_MS = 1_000;

const FIXED: Readonly<Record<Exclude<UpstreamProtocol, 'auto'>, ReadonlySet<Era>>> = {
  legacy: new Set(['legacy']),
  modern: new Set(['modern']),
  both: new Set(['legacy', 'modern']),
};

/**
 * The eras the upstream speaks. Configured, or (`auto`) probed: `server/discover` for
 * the modern era, which every 2026-07-28 server implements, and `initialize` for the
 * legacy one (the session it opens is closed at once). An upstream that answered
 * neither is probed again on a later request; until then no era is spoken and every
 * request is refused (`era_not_supported`), never forwarded unchecked.
 */
export class UpstreamEras {
  readonly #upstream: Upstream;
  readonly #protocol: UpstreamProtocol;
  #known: ReadonlySet<Era> | undefined;
  /** The modern versions the upstream's `server/discover` listed (configured eras: the first one). */
  #modernVersions: readonly string[] = [FIRST_MODERN_VERSION];
  #probing: Promise<ReadonlySet<Era>> | undefined;
  #probedAt = 0;

  constructor(upstream: Upstream, protocol: UpstreamProtocol) {
    this.#upstream = upstream;
    this.#protocol = protocol;
    if (protocol !== 'auto') this.#known = FIXED[protocol];
  }

  /** The eras spoken, probing when not known yet. */
  async speaks(): Promise<ReadonlySet<Era>> {
    if (this.#known !== undefined) return this.#known;
    if (this.#probing === undefined && Date.now() - this.#probedAt < REPROBE_MS) return new Set();
    this.#probing ??= this.#probe().finally(() => {
      this.#probing = undefined;
      this.#probedAt = Date.now();
    });
    return this.#probing;
  }

  /**
   * The versions to offer a client whose version no era has (UnsupportedProtocolVersion's
   * `supported`): the modern ones the upstream lists when it speaks that era, as its own
   * `server/discover` does, else the legacy ones the proxy relays.
   */
  async supportedVersions(): Promise<readonly string[]> {
    const eras = await this.speaks();
    if (eras.has('modern')) return this.#modernVersions;
    return eras.has('legacy') ? LEGACY_VERSIONS : [];
  }

  /** The upstream failed: an `auto` proxy probes it again (it may have been replaced). */
  forget(): void {
    if (this.#protocol === 'auto') this.#known = undefined;
  }

  async #probe(): Promise<ReadonlySet<Era>> {
    const [modern, legacy] = await Promise.all([this.#speaksModern(), this.#speaksLegacy()]);
    const eras = new Set<Era>();
    if (legacy) eras.add('legacy');
    if (modern) eras.add('modern');
    if (eras.size > 0) this.#known = eras;
    return eras;
  }

  async #speaksModern(): Promise<boolean> {
    const body = {
      jsonrpc: '2.0',
      id: 'mcp-warden-probe',
      method: 'server/discover',
      params: {
        _meta: { [META_PROTOCOL_VERSION]: FIRST_MODERN_VERSION, 'io.modelcontextprotocol/clientCapabilities': {} },
      },
    };
    const answer = await this.#ask(body, {
      'mcp-protocol-version': FIRST_MODERN_VERSION,
      'mcp-method': 'server/discover',
    });
    const versions = (answer?.result as { supportedVersions?: unknown } | undefined)?.supportedVersions;
    const modern = Array.isArray(versions)
      ? versions.filter((v): v is string => typeof v === 'string' && isModern(v))
      : [];
    if (modern.length > 0) this.#modernVersions = modern;
    return modern.length > 0;
  }

  async #speaksLegacy(): Promise<boolean> {
    const body = {
      jsonrpc: '2.0',
      id: 'mcp-warden-probe',
      method: 'initialize',
      params: {
        protocolVersion: LEGACY_PROBE_VERSION,
        capabilities: {},
        clientInfo: { name: 'mcp-warden-probe', version: '1' },
      },
    };
    const answer = await this.#ask(body, {});
    if (answer?.session !== undefined) {
      await this.#upstream.send('DELETE', {}, answer.session).then(
        (r) => r.body.dump(),
        () => undefined,
      );
    }
    const version = (answer?.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    return typeof version === 'string' && version < FIRST_MODERN_VERSION;
  }

  /** One probe request; its JSON-RPC result (from JSON or the first SSE event), or undefined. */
  async #ask(
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ result: unknown; session: string | undefined } | undefined> {
    try {
      const response = await this.#upstream.send(
        'POST',
        { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        null,
        Buffer.from(JSON.stringify(body)),
      );
      const text = await response.body.text();
      const session = response.headers['mcp-session-id'];
      if (response.statusCode !== 200) return undefined;
      const json = String(response.headers['content-type'] ?? '').startsWith('text/event-stream')
        ? answerEventData(text)
        : text;
      const message = JSON.parse(json ?? '') as { result?: unknown };
      return { result: message.result, session: typeof session === 'string' ? session : undefined };
    } catch {
      return undefined;
    }
  }
}

/** The data of the first SSE event that carries a JSON-RPC answer (a priming event carries none). */
function answerEventData(text: string): string | undefined {
  const data = text
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim());
  return data.find((d) => d.startsWith('{') && (d.includes('"result"') || d.includes('"error"')));
}
