import { describe, expect, it } from 'vitest';
import { closest } from '../../src/config/did-you-mean.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

const problemsOf = (overrides: Record<string, Record<string, unknown>>): readonly string[] => {
  try {
    loadConfig({ env: {}, overrides });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
};

describe('an unknown config key names itself and the key it may mean', () => {
  const cases: { note: string; overrides: Record<string, Record<string, unknown>>; want: string }[] = [
    {
      note: 'a typo in a section',
      overrides: { server: { prot: 1 } },
      want: 'server.prot: unknown key (did you mean port?)',
    },
    {
      note: 'a typo inside an array item',
      overrides: {
        identity: {
          issuers: [{ issuer: 'https://idp.example', jwks_uri: 'https://idp.example/k', requre_typ: 'JWT' }],
        },
      },
      want: 'identity.issuers.0.requre_typ: unknown key (did you mean require_typ?)',
    },
    { note: 'a key like none', overrides: { server: { colour: 'blue' } }, want: 'server.colour: unknown key' },
  ];
  for (const c of cases) {
    it(c.note, () => {
      expect(problemsOf(c.overrides)).toContain(c.want);
    });
  }
});

describe('closest', () => {
  const cases = [
    { word: 'prot', candidates: ['port', 'host'], want: 'port' },
    { word: 'alow', candidates: ['allow', 'deny'], want: 'allow' },
    { word: 'sesion_store', candidates: ['session_store'], want: 'session_store' },
    { word: 'x', candidates: ['port', 'host'], want: null },
    { word: 'completely_else', candidates: ['port'], want: null },
  ];
  for (const c of cases) {
    it(`${c.word} → ${c.want}`, () => {
      expect(closest(c.word, c.candidates)).toBe(c.want);
    });
  }
});
