import { it } from 'vitest';
import { jwksDown, jwksSlow } from '../helpers/faults-identity.ts';
import { expectScenario } from './expect-scenario.ts';

it('JWKS endpoint slower than the fetch timeout: cached tokens keep working, uncached ones deny jwks_unavailable within the timeout (no hang), forgeries never allowed, recovery by itself', {
  timeout: 90_000,
}, async () => {
  expectScenario(await jwksSlow(), 5_000);
});

it('JWKS endpoint down: cached tokens keep working, uncached ones deny jwks_unavailable, forgeries never allowed, recovery by itself when it is back', {
  timeout: 90_000,
}, async () => {
  expectScenario(await jwksDown(), 5_000);
});
