import { readFileSync } from 'node:fs';
import { configSchema, type Config } from './schema.ts';
import type { z } from 'zod';
import { closest, knownKeysAt } from './did-you-mean.ts';

/** Thrown when the configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Environment variables that override the file, as `[name, path in config, type]`. */
const ENV_OVERRIDES = [
  ['MCP_WARDEN_HOST', ['server', 'host'], 'string'],
  ['MCP_WARDEN_PORT', ['server', 'port'], 'int'],
  ['MCP_WARDEN_DEV', ['server', 'dev'], 'bool'],
  ['MCP_WARDEN_LOG_LEVEL', ['server', 'log_level'], 'string'],
  ['MCP_WARDEN_REQUEST_TIMEOUT_MS', ['server', 'request_timeout_ms'], 'int'],
  ['MCP_WARDEN_SHUTDOWN_GRACE_MS', ['server', 'shutdown_grace_ms'], 'int'],
  ['MCP_WARDEN_SHUTDOWN_DELAY_MS', ['server', 'shutdown_delay_ms'], 'int'],
  ['MCP_WARDEN_SESSIONS_PER_PRINCIPAL', ['session', 'max_per_principal'], 'int'],
  ['MCP_WARDEN_BUNDLE', ['policy', 'bundle'], 'string'],
  ['MCP_WARDEN_AUDIT_FILE', ['audit', 'file'], 'string'],
  ['MCP_WARDEN_PROXY_PORT', ['proxy', 'port'], 'int'],
] as const;

export interface LoadOptions {
  /** Path of a JSON config file; `MCP_WARDEN_CONFIG` when absent. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last (from CLI flags), as nested objects. */
  overrides?: Record<string, Record<string, unknown>>;
}

/** Reads file + environment once, validates everything together, and freezes the result. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const file = options.file ?? env.MCP_WARDEN_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push(`${file}: the top level must be a JSON object`);
      } else raw = parsed as Record<string, unknown>;
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  for (const [name, [section, key], type] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const converted = convert(value, type);
    if (converted === undefined) {
      problems.push(`${name}: expected ${type === 'int' ? 'an integer' : 'true or false'}, got "${value}"`);
      continue;
    }
    setIn(raw, section, key, converted);
  }
  for (const [section, values] of Object.entries(options.overrides ?? {})) {
    for (const [key, value] of Object.entries(values)) if (value !== undefined) setIn(raw, section, key, value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return deepFreeze(result.data);
}

function convert(value: string, type: 'string' | 'int' | 'bool'): unknown {
  if (type === 'string') return value;
  if (type === 'int') return /^\d+$/.test(value) ? Number(value) : undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

function setIn(raw: Record<string, unknown>, section: string, key: string, value: unknown): void {
  const current = raw[section];
  const target = current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : {};
  const existing = target[key];
  // A nested override (e.g. proxy.upstream.url from a flag) keeps the file's other fields.
  target[key] = isPlainObject(value) && isPlainObject(existing) ? { ...existing, ...value } : value;
  raw[section] = target;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A schema problem as lines naming the key; an unknown key says which known one it may mean. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = issue.path.join('.');
  if (issue.code !== 'unrecognized_keys') return [`${at || '(root)'}: ${issue.message}`];
  const known = knownKeysAt(configSchema, issue.path);
  return issue.keys.map((key) => {
    const guess = closest(key, known);
    return `${at ? `${at}.` : ''}${key}: unknown key${guess === null ? '' : ` (did you mean ${guess}?)`}`;
  });
}
