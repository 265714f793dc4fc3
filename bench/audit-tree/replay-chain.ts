// The reference bench/audit-tree.ts times `audit verify` against, run as a child process
// like the CLI: `node bench/audit-tree/replay-chain.ts <trail file>`. It reads the file
// trail with the same reader `audit verify` uses (FileTrail: the rotated files, then the
// current one, one JSON.parse per line) and replays its chains with ChainReplay (seq, prev,
// and each record's own hash: canonicalize + sha256) — the hash chain alone, as verify
// checked it before the Merkle tree: no leaf hashes, no tree, no checkpoint. Prints one
// JSON line: {"records":N,"chains":C,"seconds":S}; exits 1 when the chain is broken.
import { performance } from 'node:perf_hooks';
import { ChainReplay } from '../../src/audit/chain.ts';
import { FileTrail } from '../../src/audit/file-trail.ts';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node bench/audit-tree/replay-chain.ts <trail file>');
  process.exit(2);
}
const started = performance.now();
const replay = new ChainReplay();
let records = 0;
for await (const record of new FileTrail(file).records()) {
  const problem = replay.next(record);
  if (problem !== null) {
    console.error(`BROKEN: chain ${problem.chain}, record ${problem.seq}: ${problem.problem}`);
    process.exit(1);
  }
  records += 1;
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ records, chains: replay.heads.length, seconds }));
