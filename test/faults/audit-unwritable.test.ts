import { it } from 'vitest';
import { auditUnwritable } from '../helpers/faults-audit.ts';
import { expectScenario } from './expect-scenario.ts';

it('read-only audit dir: audit_unavailable from next reopen, /health 503, allow once writable, trail whole, valid', {
  timeout: 90_000,
}, async () => {
  expectScenario(await auditUnwritable(), 5_000);
});
