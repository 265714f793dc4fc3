import { z } from 'zod';
import { openNote, parseVerifierKey } from './signed-note.ts';

const listing = z.object({
  logs: z.array(z.object({ origin: z.string(), size: z.number().int().min(0), checkpoint: z.string() })),
});

/**
 * The checkpoints a witness holds of the chains whose origins start with `prefix`
 * (`GET <url>/checkpoints?prefix=…`, src/witness/http-server.ts), each checked to carry
 * the witness's own cosignature (`vkey`, cosignature/v1). What the trail's keys signed in
 * them is for `verifyTrail` to check, like any other checkpoint. Throws when the witness
 * does not answer, or answers something it did not cosign.
 */
export async function witnessedCheckpoints(
  url: string,
  vkey: string,
  prefix: string,
  timeoutMs = 10_000,
): Promise<string[]> {
  const key = parseVerifierKey(vkey);
  if (key.type !== 'cosignature/v1') throw new Error(`the witness key ${key.name} is not a cosignature/v1 key`);
  const target = `${url.replace(/\/+$/, '')}/checkpoints?prefix=${encodeURIComponent(prefix)}`;
  const response = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) throw new Error(`the witness ${url} answered ${response.status}`);
  const parsed = listing.safeParse(await response.json());
  if (!parsed.success) throw new Error(`the witness ${url} answered something that is not its checkpoint listing`);
  return parsed.data.logs.map(({ origin, checkpoint }) => {
    const opened = openNote(checkpoint, [key]);
    if (!opened.verified.some((s) => s.verifier.name === key.name)) {
      throw new Error(`the witness's checkpoint of ${origin} lacks its cosignature`);
    }
    return checkpoint;
  });
}
