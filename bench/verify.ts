// `npm run bench` (second part): the cost of verifying a token, cold (no cache) per
// algorithm, against a warm-cache hit. Sequential, one core, in process.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { issuerConfigSchema } from '../src/config/identity.ts';
import { createTokenVerifier } from '../src/identity/verifier.ts';
import { measureRounds } from './lib/rounds.ts';

const ISSUER = 'https://idp.bench.example';
const SERVER = 'https://mcp.example.com/files';
const ROUNDS = { warmupMs: 500, rounds: 5, roundMs: 1000, concurrency: 1 };
const RESULTS = fileURLToPath(new URL('./results/verify-latest.json', import.meta.url));

interface Row {
  readonly case: string;
  readonly per_s: number;
  readonly us: number;
}

async function verifierAndToken(alg: string, cacheSize: number) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg };
  const verifier = createTokenVerifier({
    issuers: [issuerConfigSchema.parse({ issuer: ISSUER, jwks: { keys: [jwk] }, algorithms: [alg] })],
    cacheSize,
    maxTokenBytes: 8192,
  });
  const token = await new SignJWT({ roles: ['reader'] })
    .setProtectedHeader({ alg, kid: 'k', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(SERVER)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return { verifier, token };
}

const rows: Row[] = [];
for (const [label, alg, cacheSize] of [
  ['warm cache hit (ES256 token)', 'ES256', 100],
  ['cold verify RS256 (2048-bit)', 'RS256', 0],
  ['cold verify ES256', 'ES256', 0],
  ['cold verify EdDSA (Ed25519)', 'EdDSA', 0],
] as const) {
  const { verifier, token } = await verifierAndToken(alg, cacheSize);
  const result = await measureRounds(() => verifier.verify(token, SERVER), ROUNDS);
  rows.push({ case: label, per_s: Math.round(result.median), us: Number((1e6 / result.median).toFixed(1)) });
  console.log(`  ${label}: ${Math.round(result.median)}/s`);
}

const warm = rows[0] as Row;
const table = [
  '| token verification, sequential, one core | verifies/s (median of 5 × 1 s) | µs each | cost vs warm hit |',
  '|---|---:|---:|---:|',
  ...rows.map(
    (r) => `| ${r.case} | ${r.per_s.toLocaleString('en-US')} | ${r.us} | ${(warm.per_s / r.per_s).toFixed(1)}× |`,
  ),
].join('\n');
console.log(`\n${table}\n`);
const results = { generated_at: new Date().toISOString(), cpu: cpus()[0]?.model, node: process.version, rows };
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`(written to ${RESULTS})`);
