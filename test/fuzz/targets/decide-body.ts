import { hash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { startTestService } from '../../helpers/service.ts';
import { count, prototypeFingerprint, settledHeap, type FuzzTarget } from '../harness.ts';
import {
  anyValue,
  byteEditArb,
  damage,
  mutate,
  mutationArb,
  serialize,
  touched,
  type ByteEdit,
  type Mutation,
} from './body-mutations.ts';
import { mustDeny, type Baseline } from './decide-oracle.ts';

const SERVER = 'https://mcp.example.com/files';
const PEP_KEY = 'mwk_fuzz-pep-key-0123456789abcdef';
const ADMIN_KEY = 'mwk_fuzz-admin-key-0123456789abcdef';
const sha256 = (s: string) => hash('sha256', s, 'hex');

/** The statuses `POST /v1/decide` documents; a 5xx is never one of them here (no backend can fail). */
const DOCUMENTED = new Set([200, 400, 401, 403, 413, 415]);

const PATHS = [
  [],
  ['token'],
  ['session'],
  ['server'],
  ['context'],
  ['mcp'],
  ['mcp', 'method'],
  ['mcp', 'params'],
  ['mcp', 'params', 'name'],
  ['mcp', 'params', 'arguments'],
  ['mcp', 'params', 'arguments', 'path'],
  ['mcp', 'params', 'uri'],
  ['mcp', 'protocol_version'],
  ['mcp', 'handle_argument'],
  ['mcp', 'candidates'],
] as const;

type Auth = 'pep' | 'none' | 'admin' | 'unknown' | 'malformed';
const AUTH_HEADER: Record<Auth, string | undefined> = {
  pep: `Bearer ${PEP_KEY}`,
  none: undefined,
  admin: `Bearer ${ADMIN_KEY}`,
  unknown: 'Bearer mwk_not-a-configured-key-00000000',
  malformed: 'Basic YWxpY2U6c2VjcmV0',
};

interface Case {
  readonly auth: Auth;
  readonly contentType: string | undefined;
  /** How the body was made: mutations of the valid body, any JSON, or raw bytes. */
  readonly body:
    | { readonly kind: 'mutated'; readonly mutations: readonly Mutation[]; readonly damage: readonly ByteEdit[] }
    | { readonly kind: 'json'; readonly value: unknown }
    | { readonly kind: 'bytes'; readonly bytes: Uint8Array };
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  auth: fc.oneof(
    { weight: 12, arbitrary: fc.constant('pep' as const) },
    fc.constantFrom<Auth>('none', 'admin', 'unknown', 'malformed'),
  ),
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/jsonx',
      'multipart/form-data; boundary=x',
    ),
  ),
  body: fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('mutated' as const),
        mutations: fc.array(mutationArb(PATHS), { minLength: 1, maxLength: 3 }),
        damage: fc.oneof(
          { weight: 5, arbitrary: fc.constant([]) },
          fc.array(byteEditArb, { minLength: 1, maxLength: 2 }),
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: anyValue }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 512 }) }),
    },
  ),
});

/** The body as the server reads it: UTF-8, one leading BOM dropped (secure-json-parse does), then JSON. */
function parsed(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) };
  } catch {
    return { ok: false };
  }
}

const related = (a: string, b: string) =>
  a === b || a === '' || b === '' || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/**
 * `POST /v1/decide` through `app.inject`, the real service composition (dev mode, API
 * keys, memory store, file audit). Bodies are mutations of a valid, allowed request
 * with a live session, any JSON, or raw bytes; headers and content types vary.
 */
export const decideBodyTarget: FuzzTarget = {
  name: 'decide body (POST /v1/decide)',
  invariant:
    'status ∈ {200,400,401,403,413,415}; allow:true only for a body the documented policy allows with ' +
    'the untouched token, server and session; a 400 for well-formed JSON names a mutated field; every ' +
    '200 is in the audit file; no prototype is polluted',
  defaultRuns: 800,
  async open() {
    const s = await startTestService(
      { log_level: 'silent' },
      {
        callers: {
          api_keys: [
            { id: 'pep-fuzz', sha256: sha256(PEP_KEY), role: 'pep' },
            { id: 'admin-fuzz', sha256: sha256(ADMIN_KEY), role: 'admin' },
          ],
        },
      },
    );
    const token = await s.token();
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { authorization: AUTH_HEADER.pep },
      payload: { token, server: SERVER },
    });
    if (created.statusCode !== 201) throw new Error(`session: ${created.statusCode} ${created.body}`);
    const base: Baseline = { token, session: created.json().id as string, server: SERVER };
    const valid = {
      token,
      session: base.session,
      server: SERVER,
      mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    };
    const send = (payload: Buffer, auth: Auth, contentType: string | undefined) =>
      s.app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers: {
          ...(AUTH_HEADER[auth] ? { authorization: AUTH_HEADER[auth] } : {}),
          ...(contentType ? { 'content-type': contentType } : {}),
        },
        payload,
      });
    const control = await send(Buffer.from(JSON.stringify(valid)), 'pep', 'application/json');
    if (control.json().allow !== true) throw new Error(`the valid body is not allowed: ${control.body}`);

    const outcomes = new Map<string, number>();
    const answered: { id: string; allow: boolean; reason: string | undefined }[] = [];
    const heapBefore = settledHeap();
    const prototypes = prototypeFingerprint();

    const property = fc.asyncProperty(caseArb, async (c) => {
      let bytes: Buffer;
      let fields: string[] = [];
      if (c.body.kind === 'mutated') {
        bytes = damage(Buffer.from(serialize(mutate(valid, c.body.mutations))), c.body.damage);
        // Byte damage may hit any key: only mutations and duplicated keys name their field.
        const blind = c.body.damage.some((d) => d.kind !== 'duplicateKey');
        fields = blind
          ? []
          : [
              ...c.body.mutations.map(touched),
              ...c.body.damage.flatMap((d) => (d.kind === 'duplicateKey' ? [d.key] : [])),
            ];
      } else if (c.body.kind === 'json') bytes = Buffer.from(serialize(c.body.value));
      else bytes = Buffer.from(c.body.bytes);

      const res = await send(bytes, c.auth, c.contentType);
      const status = res.statusCode;
      const json = (() => {
        try {
          // biome-ignore lint/suspicious/noExplicitAny: an answer of any shape, its fields checked one by one
          return res.json() as Record<string, any>;
        } catch {
          return undefined;
        }
      })();
      count(
        outcomes,
        status === 200
          ? json?.allow
            ? '200 allow'
            : `200 deny ${json?.reasons?.[0]?.code}`
          : `${status} ${json?.code}`,
      );
      if (!DOCUMENTED.has(status)) throw new Error(`undocumented status ${status}: ${res.body.slice(0, 300)}`);
      if (json === undefined || (typeof json.code !== 'string' && status !== 200))
        throw new Error(`${status} without the error envelope: ${res.body.slice(0, 300)}`);
      if (status === 200) {
        if (c.auth !== 'pep') throw new Error(`200 for caller auth ${c.auth}`);
        if (typeof json.decision_id !== 'string' || typeof json.allow !== 'boolean' || !Array.isArray(json.reasons))
          throw new Error(`bad decision ${res.body}`);
        answered.push({ id: json.decision_id, allow: json.allow, reason: json.reasons[0]?.code });
        if (json.allow === false && json.reasons.length === 0) throw new Error('a deny without a reason');
        // The sink is healthy: a record it refuses is a record some input made unwritable
        // (a lone surrogate or 1e400 did, before they were refused as invalid_request).
        if (json.reasons[0]?.code === 'audit_unavailable')
          throw new Error(`audit_unavailable with a healthy sink: ${bytes.toString('utf8').slice(0, 600)}`);
        if (json.allow === true) {
          const body = parsed(bytes);
          const why = body.ok ? mustDeny(body.value, base) : 'the body is not JSON';
          if (why !== null) throw new Error(`WRONG ALLOW (${why}): ${bytes.toString('utf8').slice(0, 600)}`);
        }
      }
      if (status === 400) {
        if (json.code !== 'invalid_request') throw new Error(`400 with code ${json.code}`);
        const text = bytes.toString('utf8');
        const wellFormed =
          parsed(bytes).ok && !/__proto__|constructor/.test(text) && c.contentType === 'application/json';
        if (wellFormed) {
          const errors = json.errors as { path: string; message: string }[] | undefined;
          if (!Array.isArray(errors) || errors.length === 0)
            throw new Error(`a schema 400 without errors[]: ${res.body.slice(0, 300)}`);
          if (fields.length > 0 && !errors.some((e) => fields.some((f) => related(e.path, f)))) {
            throw new Error(
              `400 names ${errors.map((e) => e.path).join(', ')} but the mutation touched ${fields.join(', ')}`,
            );
          }
        }
      }
      if (status === 401 && json.code !== 'caller_unauthenticated') throw new Error(`401 with code ${json.code}`);
      if (status === 403 && json.code !== 'caller_forbidden') throw new Error(`403 with code ${json.code}`);
      if (status === 413 && json.code !== 'payload_too_large') throw new Error(`413 with code ${json.code}`);
      if (status === 415 && json.code !== 'unsupported_media_type') throw new Error(`415 with code ${json.code}`);
    });

    return {
      outcomes,
      check: (parameters) => fc.check(property, parameters as fc.Parameters<[Case]>) as Promise<fc.RunDetails<unknown>>,
      async finish() {
        if (prototypeFingerprint() !== prototypes) throw new Error('a built-in prototype gained or lost a property');
        if (({} as Record<string, unknown>).polluted !== undefined) throw new Error('Object.prototype.polluted is set');
        const again = await send(Buffer.from(JSON.stringify(valid)), 'pep', 'application/json');
        if (again.json().allow !== true) {
          const health = await s.app.inject({ method: 'GET', url: '/health' });
          const files = readdirSync(s.dir).map((f) => `${f} ${statSync(join(s.dir, f)).size}`);
          throw new Error(
            `the valid body is no longer allowed: ${again.body}; /health ${health.body}; files ${files.join(', ')}`,
          );
        }
        const trail = new Set(
          readFileSync(s.auditFile, 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as { decision_id: string | null }).decision_id),
        );
        const missing = answered.filter((a) => !trail.has(a.id));
        if (missing.length > 0)
          throw new Error(
            `${missing.length} answered decisions are not in the audit file: ${JSON.stringify(missing.slice(0, 5))}`,
          );
        const growth = settledHeap() - heapBefore;
        if (growth > 128 << 20) throw new Error(`heap grew ${(growth / 2 ** 20).toFixed(1)} MiB`);
        return [
          `${answered.length} decisions, all in the audit file`,
          `heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`,
        ];
      },
      async close() {
        await s.app.close();
        rmSync(s.dir, { recursive: true, force: true });
      },
    };
  },
};
