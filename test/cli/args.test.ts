import { describe, expect, it } from 'vitest';
import { integerFlag, isParseArgsError, parseFlags, portFlag, UsageError } from '../../src/cli/args.ts';

const OPTIONS = {
  port: { type: 'string' },
  config: { type: 'string' },
  dev: { type: 'boolean' },
  'watch-policies': { type: 'string' },
} as const;

describe('parseFlags', () => {
  it('answers the values of known flags', () => {
    expect(parseFlags(['--port', '1', '--dev'], OPTIONS)).toEqual({ port: '1', dev: true });
  });

  const refused = [
    { note: 'a typo of a known flag', args: ['--prot', '1'], want: "unknown option '--prot' (did you mean --port?)" },
    {
      note: 'a prefix of a known flag',
      args: ['--watch'],
      want: "unknown option '--watch' (did you mean --watch-policies?)",
    },
    { note: 'a flag like none', args: ['--verbose'], want: "unknown option '--verbose'" },
    { note: 'an unknown short flag', args: ['-x'], want: "unknown option '-x'" },
    // Named even when an earlier flag is malformed, so that the message points at the real mistake.
    {
      note: 'unknown after a malformed one',
      args: ['--dev=1', '--cofig', 'c'],
      want: "unknown option '--cofig' (did you mean --config?)",
    },
    { note: 'a boolean given a value', args: ['--dev=yes'], want: "Option '--dev' does not take an argument" },
    { note: 'a value missing', args: ['--port'], want: "Option '--port <value>' argument missing" },
    {
      note: 'a value that looks like a flag',
      args: ['--config', '--dev'],
      want: "Option '--config' argument is ambiguous.",
    },
    {
      note: 'a positional',
      args: ['extra'],
      want: "Unexpected argument 'extra'. This command does not take positional arguments",
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.note} with a UsageError naming it`, () => {
      let thrown: unknown;
      try {
        parseFlags(c.args, OPTIONS);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(UsageError);
      expect((thrown as Error).message).toBe(c.want);
    });
  }
});

describe('integerFlag and portFlag', () => {
  it('answers undefined for an absent flag and the number for a good one', () => {
    expect(portFlag(undefined)).toBeUndefined();
    expect(portFlag('0')).toBe(0);
    expect(portFlag('65535')).toBe(65_535);
    expect(integerFlag('--ttl', '60', { min: 1, max: 100, what: 'seconds' })).toBe(60);
  });

  for (const value of ['abc', '', '-1', '1.5', '65536', '8e3', ' 80', '0x50']) {
    it(`refuses --port ${JSON.stringify(value)}, naming the flag and what it expects`, () => {
      expect(() => portFlag(value)).toThrow(UsageError);
      expect(() => portFlag(value)).toThrow(
        `--port expects a port number from 0 to 65535, not ${JSON.stringify(value)}`,
      );
    });
  }

  it('refuses a value below the minimum', () => {
    expect(() => integerFlag('--ttl', '0', { min: 1, max: 100, what: 'seconds' })).toThrow('--ttl expects seconds');
  });
});

describe('isParseArgsError', () => {
  it("tells node's parseArgs refusals from other errors", () => {
    expect(isParseArgsError(Object.assign(new TypeError('x'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))).toBe(true);
    expect(isParseArgsError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isParseArgsError(new Error('x'))).toBe(false);
    expect(isParseArgsError('ERR_PARSE_ARGS_UNKNOWN_OPTION')).toBe(false);
  });
});
