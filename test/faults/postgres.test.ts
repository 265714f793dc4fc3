import { it } from 'vitest';
import { postgresStopped } from '../helpers/faults-backends.ts';
import { expectScenario } from './expect-scenario.ts';

it('PostgreSQL audit sink stopped and restarted: deny audit_unavailable while down (no allow without a record), /health 503, recovery in the same process, the table verifies', {
  timeout: 90_000,
}, async () => {
  expectScenario(await postgresStopped(), 5_000);
});
