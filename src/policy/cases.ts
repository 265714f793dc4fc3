import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { PolicyEngine, PolicyInput } from './engine.ts';

type Json = Record<string, unknown>;

/** One data-driven case `{note, input, want}` for `mcp/authz/decision`. */
export interface PolicyCase {
  readonly note: string;
  readonly input: { request?: Json; principal?: Json; session?: Json | null; [key: string]: unknown };
  readonly want: { allow: boolean; codes?: string[]; visible?: string[] | null };
}

const REQUEST: Json = {
  method: 'tools/call',
  tool: null,
  arguments: null,
  uri: null,
  prompt: null,
  protocol_version: '2025-11-25',
  candidates: null,
  tools: null,
};
const PRINCIPAL: Json = {
  iss: 'https://issuer.example.com',
  sub: 'alice',
  client_id: 'app-1',
  scopes: [],
  roles: [],
  spiffe_id: null,
  kind: 'user',
  claims: {},
};
const SESSION: Json = {
  id_hash: '3f1c',
  kind: 'mcp-session',
  scope: [],
  created_at: 1_700_000_000_000_000_000,
  expires_at: 1_700_000_900_000_000_000,
  context: {},
};

/** A full policy input from a case's compact one: request, principal and session merged over defaults. */
export function fullInput(compact: PolicyCase['input']): PolicyInput {
  const { request, principal, session, ...rest } = compact;
  return {
    server: { id: 'https://mcp.example.com/files' },
    caller: { id: 'pep-1', role: 'pep' },
    now_ns: 1_700_000_000_000_000_000,
    ...rest,
    request: { ...REQUEST, ...request },
    principal: { ...PRINCIPAL, ...principal },
    session: session == null ? null : { ...SESSION, ...session },
  };
}

// Strict where a typo would silently weaken a case (`alow:` would leave `want.allow` undefined);
// `input` keeps its extra top-level keys, which become input fields of their own.
const json = z.record(z.string(), z.unknown());
const caseSchema = z.strictObject({
  note: z.string(),
  input: z.looseObject({ request: json.optional(), principal: json.optional(), session: json.nullable().optional() }),
  want: z.strictObject({
    allow: z.boolean(),
    codes: z.array(z.string()).optional(),
    visible: z.array(z.string()).nullable().optional(),
  }),
});
const caseFileSchema = z.array(caseSchema);

/** Every `*.yaml` file of `dir`, each a list of cases, in name order; throws naming the file of a bad case. */
export function loadCaseFiles(dir: string): Array<{ file: string; cases: PolicyCase[] }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((file) => ({ file, cases: parseCaseFile(file, readFileSync(join(dir, file), 'utf8')) }));
}

/** The cases of one file's text; throws an Error naming `file` and each bad field. */
export function parseCaseFile(file: string, text: string): PolicyCase[] {
  const parsed = caseFileSchema.safeParse(parse(text));
  if (parsed.success) return parsed.data as PolicyCase[];
  const problems = parsed.error.issues.map((issue) => {
    const at = issue.path.length === 0 ? '(the file)' : issue.path.join('.');
    return `${file}: ${at}: ${issue.message}`;
  });
  throw new Error(`invalid case file ${file}:\n  ${problems.join('\n  ')}`);
}

/** What a case got wrong against a compiled engine; empty when it passes. */
export function checkCase(engine: PolicyEngine, c: PolicyCase): string[] {
  const got = engine.decide(fullInput(c.input));
  const problems: string[] = [];
  const codes = got.reasons.map((r) => r.code);
  if (got.allow !== c.want.allow)
    problems.push(`allow: want ${c.want.allow}, got ${got.allow} (${codes.join(', ') || 'no reasons'})`);
  if (c.want.allow && codes.length > 0) problems.push(`allowed with reasons: ${codes.join(', ')}`);
  if (c.want.codes !== undefined && JSON.stringify(codes) !== JSON.stringify(c.want.codes)) {
    problems.push(`codes: want [${c.want.codes.join(', ')}], got [${codes.join(', ')}]`);
  }
  if (c.want.visible !== undefined && JSON.stringify(got.visible) !== JSON.stringify(c.want.visible)) {
    problems.push(`visible: want ${JSON.stringify(c.want.visible)}, got ${JSON.stringify(got.visible)}`);
  }
  return problems;
}
