import { it } from 'vitest';
import { postgresStopped } from '../helpers/faults-backends.ts';
import { expectScenario } from './expect-scenario.ts';

it('PostgreSQL sink down and back: audit_unavailable while down, /health 503, same process recovers, table verifies', {
  timeout: 90_000,
}, async () => {
  expectScenario(await postgresStopped(), 5_000);
});
