import { NoteError, type NoteVerifier, parseVerifierKey } from '../audit/signed-note.ts';

/**
 * The logs a witness accepts, as families: a trusted Ed25519 log key named `N` vouches for
 * every origin `N/<anything non-empty>`, since the service starts a new chain, a log with
 * an origin of its own (`<log name>/<chain id>`, see src/audit/checkpoint.ts), at every run.
 */

/** Parses the `--log` verifier keys (c2sp.org/signed-note §Verifier keys); only Ed25519 log keys are trusted. */
export function parseLogKeys(vkeys: readonly string[]): NoteVerifier[] {
  return vkeys.map((vkey, i) => {
    const which = `log key ${i + 1}`;
    if (vkey.startsWith('PRIVATE+KEY')) throw new NoteError('key_malformed', `${which} is a private key`);
    let verifier: NoteVerifier;
    try {
      verifier = parseVerifierKey(vkey.trim());
    } catch (err) {
      throw new NoteError(
        'key_malformed',
        `${which} is not a vkey <name>+<key id>+<base64>: ${(err as Error).message}`,
      );
    }
    if (verifier.type !== 'ed25519')
      throw new NoteError('key_malformed', `${which} is a ${verifier.type} key, not an Ed25519 log key`);
    return verifier;
  });
}

/** The trusted keys that may sign `origin`: those whose name, then `/`, starts it, with more after the slash. */
export function logKeysFor(origin: string, keys: readonly NoteVerifier[]): NoteVerifier[] {
  return keys.filter((key) => origin.length > key.name.length + 1 && origin.startsWith(`${key.name}/`));
}
