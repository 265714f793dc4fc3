import { it } from 'vitest';
import { redisKilled } from '../helpers/faults-backends.ts';
import { expectScenario } from './expect-scenario.ts';

it('Redis killed, restarted: session_store_unavailable while down, routes 503, recovers in place, old sessions dead', {
  timeout: 90_000,
}, async () => {
  expectScenario(await redisKilled(), 5_000);
});
