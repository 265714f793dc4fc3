import {
  Client,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type VersionNegotiationMode,
} from '@modelcontextprotocol/client';

export interface V2ClientOptions {
  /** Sent as `Authorization: Bearer <token>` on every request. */
  token?: string;
  /**
   * The SDK's `versionNegotiation.mode`: `'auto'` probes `server/discover` and falls back to
   * `initialize`; `'legacy'` is the plain 2025 handshake; `{ pin }` demands that revision.
   */
  mode?: VersionNegotiationMode;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** What the client declares (e.g. `elicitation`, for multi-round-trip requests). */
  capabilities?: ClientCapabilities;
}

/** A connected v2 SDK client. */
export interface V2Client {
  readonly client: Client;
  /** The negotiated revision, e.g. `2026-07-28` (modern) or `2025-11-25` (legacy initialize). */
  readonly protocolVersion: string | undefined;
  /** `modern` when negotiated through `server/discover`, `legacy` after `initialize`. */
  readonly era: 'modern' | 'legacy' | undefined;
  close(): Promise<void>;
}

/** Connects a v2 (MCP 2026-07-28) SDK client over Streamable HTTP; `mode` defaults to `'auto'`. */
export async function connectV2Client(url: string | URL, options: V2ClientOptions = {}): Promise<V2Client> {
  const headers = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client(
    { name: 'warden-v2-test-client', version: '1.0.0' },
    { versionNegotiation: { mode: options.mode ?? 'auto' }, capabilities: options.capabilities ?? {} },
  );
  await client.connect(transport);
  return {
    client,
    protocolVersion: client.getNegotiatedProtocolVersion(),
    era: client.getProtocolEra(),
    close: () => client.close(),
  };
}
