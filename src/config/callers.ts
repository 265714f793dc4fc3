import { z } from 'zod';

/** One API key of a caller (a PEP or an operator); only its sha256 is configured. */
export const apiKeyConfigSchema = z
  .strictObject({
    /** The caller's name, recorded in every decision and audit record. */
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits and . _ : - only'),
    /** Hex sha256 of the key (`mcp-warden api-key` prints it). */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the lowercase hex sha256 of the key'),
    /** `pep` decides and manages sessions, `admin` operates, `metrics` only scrapes `/metrics`. */
    role: z.enum(['pep', 'admin', 'metrics']),
    /** A revoked key: refused, kept in config for the record. */
    disabled: z.boolean().default(false),
    /**
     * A `pep` key's MCP servers (resource URIs): it may decide, manage sessions and check
     * liveness for these only. Absent: any server.
     */
    servers: z
      .array(z.string().min(1).max(2048))
      .min(1, 'name at least one server, or leave servers out for any')
      .optional(),
  })
  .refine((k) => k.servers === undefined || k.role === 'pep', {
    message: 'only a pep key is bound to servers; admin and metrics keys act on every server',
    path: ['servers'],
  });

/** Who may call the API. Without keys, only loopback listening is allowed. */
export const callersConfigSchema = z
  .strictObject({ api_keys: z.array(apiKeyConfigSchema).default([]) })
  .refine((v) => new Set(v.api_keys.map((k) => k.sha256)).size === v.api_keys.length, {
    message: 'the same key is configured twice',
    path: ['api_keys'],
  });

export type ApiKeyConfig = z.output<typeof apiKeyConfigSchema>;
