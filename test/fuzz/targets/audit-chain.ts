import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { ChainSealer, verifyRecords, type SealedRecord } from '../../../src/audit/chain.ts';
import { AUDIT_KINDS, auditRecord, type AuditKind } from '../../../src/audit/record.ts';
import { count, type FuzzTarget } from '../harness.ts';

const KINDS: readonly AuditKind[] = AUDIT_KINDS;

/** JSON an audit record can hold: RFC 8785 has no lone surrogates and no non-finite numbers, and neither does this. */
const field = fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' });

interface Fields {
  kind: AuditKind;
  caller: string;
  tool: string | null;
  allow: boolean | null;
  input: Record<string, fc.JsonValue>;
}

const recordArb: fc.Arbitrary<Fields> = fc.record({
  kind: fc.constantFrom(...KINDS),
  caller: fc.string({ unit: 'binary', maxLength: 20 }),
  tool: fc.option(fc.string({ maxLength: 20 })),
  allow: fc.option(fc.boolean()),
  input: fc.dictionary(fc.string({ maxLength: 8 }), field, { maxKeys: 3 }),
});

type Tamper =
  | { kind: 'set'; index: number; key: string; value: unknown }
  | { kind: 'delete' | 'duplicate'; index: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'truncateTail'; keep: number };

const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      index: fc.nat(),
      key: fc.constantFrom(
        'seq',
        'prev',
        'hash',
        'chain',
        'allow',
        'caller',
        'tool',
        'ts',
        'kind',
        'input',
        'reasons',
        'decision_id',
        'extra',
      ),
      value: field,
    }),
  },
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('truncateTail' as const), keep: fc.nat() }),
);

const same = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);

/**
 * `verifyRecords` on a sealed chain after one act of tampering. The oracle: a trail that
 * is still, record for record, a prefix of the sealed one (in RFC 8785 terms) verifies;
 * every other trail is reported broken. A cut tail is a prefix: only a signed checkpoint
 * can reveal it, which `audit verify` checks apart.
 */
export const auditChainTarget: FuzzTarget = {
  name: 'audit chain verification (verifyRecords)',
  invariant:
    'a tampered chain verifies only if it is still a prefix of the sealed chain (canonically equal ' +
    'records); otherwise the first broken link is reported',
  defaultRuns: 1000,
  async open() {
    const outcomes = new Map<string, number>();
    const property = fc.asyncProperty(
      fc.array(recordArb, { minLength: 1, maxLength: 12 }),
      tamperArb,
      async (fields, tamper) => {
        const sealer = new ChainSealer('fuzz-chain');
        const sealed = fields.map((f, i) =>
          sealer.seal(
            auditRecord(f.kind, Date.UTC(2026, 0, 1, 0, 0, i), f.caller, {
              tool: f.tool,
              allow: f.allow,
              input: f.input,
            }),
          ),
        );
        const trail: SealedRecord[] = sealed.map((r) => structuredClone(r));
        const n = trail.length;
        switch (tamper.kind) {
          case 'set': {
            const r = trail[tamper.index % n] as unknown as Record<string, unknown>;
            r[tamper.key] = tamper.value;
            break;
          }
          case 'delete':
            trail.splice(tamper.index % n, 1);
            break;
          case 'duplicate':
            trail.splice(tamper.index % n, 0, structuredClone(trail[tamper.index % n] as SealedRecord));
            break;
          case 'swap': {
            const a = tamper.a % n;
            const b = tamper.b % n;
            [trail[a], trail[b]] = [trail[b] as SealedRecord, trail[a] as SealedRecord];
            break;
          }
          case 'truncateTail':
            trail.length = tamper.keep % (n + 1);
            break;
        }
        const prefix = trail.length <= n && trail.every((r, i) => same(r, sealed[i]));
        // A throw fails the property: a tampered trail is reported, never thrown on (bug 7, fixed).
        const verdict = verifyRecords(trail);
        count(outcomes, `${tamper.kind}: ${verdict.ok ? 'ok' : 'broken'}${prefix ? ' (unchanged prefix)' : ''}`);
        if (verdict.ok !== prefix) {
          throw new Error(
            `${tamper.kind}: verify says ${verdict.ok ? 'ok' : 'broken'} for a trail that is ` +
              `${prefix ? '' : 'not '}an unchanged prefix`,
          );
        }
      },
    );
    return {
      outcomes,
      check: (parameters) =>
        fc.check(property, parameters as fc.Parameters<[Fields[], Tamper]>) as Promise<fc.RunDetails<unknown>>,
      finish: async () => [],
      close: async () => {},
    };
  },
};
