import { readFileSync } from 'node:fs';
import { checkpointVerifierKey } from '../audit/checkpoint.ts';
import { type NoteVerifier, parseVerifierKey } from '../audit/signed-note.ts';
import type { AuditConfig } from '../config/audit.ts';
import { Refused } from './refused.ts';

/** `mcp-warden audit keys`: the checkpoint key's verifier key (C2SP vkey), what `audit verify --keys` reads. */
export function auditKeysCommand(config: AuditConfig): number {
  const vkey = checkpointVerifierKey(config.checkpoint_key_file, config.log_name);
  if (vkey === null) throw missingKey(config.checkpoint_key_file);
  console.log(vkey);
  return 0;
}

/**
 * The keys `audit verify` trusts: the `--keys` file, else `audit.trusted_keys`, else the
 * public half of the service's own checkpoint key (said on stderr: whoever can rewrite
 * the trail may be able to read that file too). Never generates a key.
 */
export function trustedKeys(config: AuditConfig, keysFile: string | undefined): NoteVerifier[] {
  if (keysFile !== undefined) return parseKeys(readKeysFile(keysFile), `--keys ${keysFile}`);
  if (config.trusted_keys.length > 0) return parseKeys(config.trusted_keys, 'audit.trusted_keys');
  const own = checkpointVerifierKey(config.checkpoint_key_file, config.log_name);
  if (own === null) throw missingKey(config.checkpoint_key_file);
  console.error(
    `audit: trusting the service's own checkpoint key ${config.checkpoint_key_file}; ` +
      "an auditor gives its copy of the key with --keys or audit.trusted_keys (see 'mcp-warden audit keys')",
  );
  return parseKeys([own], config.checkpoint_key_file);
}

function missingKey(file: string): Refused {
  return new Refused(
    2,
    `audit: no checkpoint key at ${file} (audit.checkpoint_key_file; the service creates it at its first ` +
      "start): run where the service runs, or give the auditors' keys with --keys",
  );
}

/** The lines of a keys file: one verifier key per line; blank lines and `#` comments are skipped. */
function readKeysFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Refused(2, `audit: --keys ${file} cannot be read: ${(err as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function parseKeys(vkeys: readonly string[], source: string): NoteVerifier[] {
  if (vkeys.length === 0)
    throw new Refused(2, `audit: ${source} holds no key: export one with \`mcp-warden audit keys\``);
  return vkeys.map((vkey, i) => {
    if (vkey.startsWith('PRIVATE+KEY')) {
      throw new Refused(2, `audit: ${source} key ${i + 1} is a private key: give only the verifier key`);
    }
    let verifier: NoteVerifier;
    try {
      verifier = parseVerifierKey(vkey);
    } catch (err) {
      throw new Refused(
        2,
        `audit: ${source} key ${i + 1} is not a verifier key <name>+<key id>+<base64 key> ` +
          `(${(err as Error).message}): export one with \`mcp-warden audit keys\``,
      );
    }
    if (verifier.type !== 'ed25519') {
      throw new Refused(2, `audit: ${source} key ${i + 1} is a witness's cosignature key, not a log key`);
    }
    return verifier;
  });
}
