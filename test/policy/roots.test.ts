import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { parseBundle } from '../../src/policy/bundle.ts';
import { checkRoots } from '../../src/policy/roots.ts';
import { bundleFiles, packBundle } from './repack.ts';

const MAX = 64 << 20;

/** The default bundle with `roots` declared and `files` added or replaced. */
async function defaultWith(roots: unknown, files: Record<string, string> = {}) {
  const all = await bundleFiles(readFileSync(DEFAULT_BUNDLE));
  const manifest = JSON.parse((all.get('.manifest') as Buffer).toString()) as Record<string, unknown>;
  all.set(
    '.manifest',
    Buffer.from(JSON.stringify(roots === undefined ? { ...manifest, roots: undefined } : { ...manifest, roots })),
  );
  for (const [name, body] of Object.entries(files)) all.set(name, Buffer.from(body));
  return parseBundle(packBundle(all), MAX);
}

const accepted: { note: string; roots: unknown; files?: Record<string, string> }[] = [
  { note: 'no roots: the bundle owns everything', roots: undefined },
  { note: "the root '' (what opa build writes)", roots: [''] },
  { note: 'roots that cover its packages, entrypoints and data', roots: ['mcp', 'catalogue'] },
  {
    note: 'a narrower data root that an object only leads to',
    roots: [
      'mcp',
      ...['destructive_approval', 'destructive_roles', 'prompts', 'roles', 'scope_roles', 'session', 'tools'].map(
        (k) => `catalogue/${k}`,
      ),
    ],
  },
  {
    note: 'a package written as data.mcp["authz"]',
    roots: ['mcp', 'catalogue'],
    files: { 'mcp/extra.rego': '# METADATA\n# title: x\npackage data.mcp["extra"]\n' },
  },
];

const refused: { note: string; roots: unknown; files?: Record<string, string>; want: RegExp }[] = [
  {
    note: 'data outside the roots',
    roots: ['mcp'],
    want: /^bundle data at \/catalogue is outside the manifest roots \["mcp"\]$/,
  },
  {
    note: 'data beside a nested root',
    roots: ['mcp', 'catalogue/tools'],
    want: /^bundle data at \/catalogue\/\w+ is outside/,
  },
  {
    note: 'a Rego package outside the roots',
    roots: ['mcp', 'catalogue'],
    files: { 'other/evil.rego': 'package system.authz\n' },
    want: /^bundle file other\/evil.rego declares package system.authz outside/,
  },
  {
    note: 'a package hidden behind a comment',
    roots: ['mcp', 'catalogue'],
    files: { 'x.rego': '# package mcp.fine\npackage other\n' },
    want: /declares package other outside/,
  },
  {
    note: 'a package that cannot be read',
    roots: ['mcp', 'catalogue'],
    files: { 'x.rego': 'package mcp[input]\n' },
    want: /^the package of bundle file x.rego cannot be read/,
  },
  {
    note: 'a data file in a directory outside the roots',
    roots: ['mcp', 'catalogue'],
    files: { 'system/data.json': '{}' },
    want: /^bundle file system\/data.json holds data outside/,
  },
  {
    note: 'YAML data at the top, which mcp-warden does not read',
    roots: ['mcp', 'catalogue'],
    files: { 'data.yaml': 'x: 1' },
    want: /^bundle file data.yaml holds data outside/,
  },
  {
    note: 'an entrypoint outside the roots',
    roots: ['mcp/authz', 'catalogue'],
    files: { 'mcp/common.rego': 'package mcp.authz.common\n', 'mcp/session.rego': 'package mcp.authz.session\n' },
    want: /^bundle entrypoint mcp\/session\/grant is outside the manifest roots/,
  },
];

describe('manifest roots', () => {
  for (const c of accepted) {
    it(`accepts ${c.note}`, async () => {
      const bundle = await defaultWith(c.roots, c.files);
      expect(() => checkRoots(bundle)).not.toThrow();
    });
  }
  for (const c of refused) {
    it(`refuses ${c.note} (bundle_outside_roots)`, async () => {
      const bundle = await defaultWith(c.roots, c.files);
      expect(() => checkRoots(bundle)).toThrow(
        expect.objectContaining({ code: 'bundle_outside_roots', message: expect.stringMatching(c.want) }),
      );
    });
  }
});
