import { it } from 'vitest';
import { redisKilled } from '../helpers/faults-backends.ts';
import { expectScenario } from './expect-scenario.ts';

it('redis-server killed and restarted: sessions deny session_store_unavailable while down (no allow), session routes 503, recovery without restarting mcp-warden, old sessions stay dead', {
  timeout: 90_000,
}, async () => {
  expectScenario(await redisKilled(), 5_000);
});
