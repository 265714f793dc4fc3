import { it } from 'vitest';
import { auditUnwritable } from '../helpers/faults-audit.ts';
import { expectScenario } from './expect-scenario.ts';

it('audit file and directory read-only: deny audit_unavailable from the next reopen, /health 503, allow again once writable, nothing answered is missing, the trail verifies', {
  timeout: 90_000,
}, async () => {
  expectScenario(await auditUnwritable(), 5_000);
});
