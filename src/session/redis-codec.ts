import type { SessionKind, SessionRecord } from './record.ts';

// How a record is laid out in its Redis HASH: numbers as decimal strings, the nested
// fields as JSON, and no `parent` / `revoked_at` field while it is null.

/** A record as HSET field/value pairs; `revoked_at` is left out while null. */
export function toFields(r: SessionRecord): (string | number)[] {
  const fields: (string | number)[] = [
    'id_hash',
    r.id_hash,
    'kind',
    r.kind,
    'owner',
    JSON.stringify(r.owner),
    'created_by',
    r.created_by,
    'server',
    r.server,
    'scope',
    JSON.stringify(r.scope),
    'context',
    JSON.stringify(r.context),
    'created_at',
    r.created_at,
    'last_seen_at',
    r.last_seen_at,
    'idle_expires_at',
    r.idle_expires_at,
    'expires_at',
    r.expires_at,
    'version',
    r.version,
  ];
  if (r.parent !== null) fields.push('parent', r.parent);
  if (r.revoked_at !== null) fields.push('revoked_at', r.revoked_at);
  return fields;
}

/** A record from a script's flat `[field, value, …]` reply; nil → undefined. */
export function fromReply(flat: string[] | null): SessionRecord | undefined {
  if (flat === null) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fromFields(fields);
}

/** A record from HGETALL's object; an empty one (no such key) → undefined. */
export function fromFields(f: Record<string, string>): SessionRecord | undefined {
  if (f.id_hash === undefined) return undefined;
  return {
    id_hash: f.id_hash,
    kind: f.kind as SessionKind,
    owner: JSON.parse(f.owner!) as SessionRecord['owner'],
    created_by: f.created_by!,
    server: f.server!,
    parent: f.parent ?? null,
    // Sorted here rather than in Lua, where string order depends on the server's locale.
    scope: (JSON.parse(f.scope!) as string[]).sort(),
    context: JSON.parse(f.context!) as SessionRecord['context'],
    created_at: Number(f.created_at),
    last_seen_at: Number(f.last_seen_at),
    idle_expires_at: Number(f.idle_expires_at),
    expires_at: Number(f.expires_at),
    revoked_at: f.revoked_at === undefined ? null : Number(f.revoked_at),
    version: Number(f.version),
  };
}
