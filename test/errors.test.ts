import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  codesOf,
  ERROR_CLASSES,
  ERROR_FAMILIES,
  type ErrorFamily,
  SessionRevoked,
  statusOf,
  toReason,
  WardenError,
} from '../src/errors.ts';
import { installErrorHandler } from '../src/server/error-handler.ts';
import { ROOT } from './helpers/paths.ts';
import { defaultPolicyCodes } from './helpers/policy-codes.ts';

/** The table rows of one `## heading` section of docs/reason-codes.md, as cells with backticks removed. */
function docRows(heading: string): string[][] {
  const doc = readFileSync(join(ROOT, 'docs/reason-codes.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${heading}\n`)) ?? '';
  return [...section.matchAll(/^\| `([a-z_]+)` \|(.*)\|$/gm)].map((m) => [
    m[1] as string,
    ...(m[2] as string).split('|').map((cell) => cell.trim().replace(/^`(.*)`$/, '$1')),
  ]);
}

function documentedCodes(): string[] {
  return [...docRows('Engine codes'), ...docRows('Default policy codes')].map((row) => row[0] as string);
}

describe('error and reason codes', () => {
  it('every engine code and every default-policy code has a row in docs/reason-codes.md, and no row is stale', () => {
    const documented = documentedCodes();
    const known = [...ERROR_CLASSES.map((c) => c.code), ...defaultPolicyCodes()];
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...new Set(known)].sort());
  });

  it('the engine table gives each code the HTTP status and family of its class', () => {
    const documented = docRows('Engine codes').map(([code, status, family]) => ({
      code,
      status: Number(status),
      family,
    }));
    const classes = ERROR_CLASSES.map(({ code, status, family }) => ({ code, status, family }));
    const byCode = (a: { code?: string }, b: { code?: string }) => String(a.code).localeCompare(String(b.code));
    expect(documented.sort(byCode)).toEqual(classes.sort(byCode));
  });

  it('the family table lists every family once', () => {
    const doc = readFileSync(join(ROOT, 'docs/reason-codes.md'), 'utf8');
    const intro = doc.slice(0, doc.indexOf('## Engine codes'));
    const families = [...intro.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(families).toEqual([...ERROR_FAMILIES]);
  });

  it('every class has an error status and a family, and the derived tables agree with the classes', () => {
    const families: readonly string[] = ERROR_FAMILIES;
    for (const c of ERROR_CLASSES) {
      expect(Number.isInteger(c.status) && c.status >= 400 && c.status <= 599, `${c.code}: ${c.status}`).toBe(true);
      expect(families, c.code).toContain(c.family);
      expect(statusOf(c.code)).toBe(c.status);
      expect(codesOf(c.family).has(c.code)).toBe(true);
    }
    const total = ERROR_FAMILIES.reduce((n, f: ErrorFamily) => n + codesOf(f).size, 0);
    expect(total).toBe(ERROR_CLASSES.length);
    expect(statusOf('no_such_code')).toBe(500);
    expect([...codesOf('state_gone')].sort()).toEqual(['session_expired', 'session_revoked', 'session_unknown']);
  });

  it('the error handler answers a thrown coded error with its class status and code', async () => {
    const app = Fastify({ logger: false });
    installErrorHandler(app, 1024);
    app.get('/throw/:i', async (request) => {
      const Class = ERROR_CLASSES[Number((request.params as { i: string }).i)] as unknown as new (
        message: string,
        extra?: readonly never[],
      ) => WardenError;
      throw new Class('thrown on purpose', []);
    });
    try {
      for (const [i, c] of ERROR_CLASSES.entries()) {
        const res = await app.inject({ method: 'GET', url: `/throw/${i}` });
        expect({ code: c.code, status: res.statusCode }).toEqual({ code: c.code, status: c.status });
        expect(res.json()).toMatchObject({ code: c.code, message: 'thrown on purpose' });
      }
    } finally {
      await app.close();
    }
  });

  it('codes are unique snake_case and instances carry their class code', () => {
    const codes = ERROR_CLASSES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(new SessionRevoked('x').code).toBe('session_revoked');
  });

  it('toReason never leaks a foreign error message', () => {
    expect(toReason(new Error('secret db password in message'))).toEqual({
      code: WardenError.code,
      message: 'internal error',
    });
    expect(toReason(new SessionRevoked('revoked'))).toEqual({ code: 'session_revoked', message: 'revoked' });
  });
});
