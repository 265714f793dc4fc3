import { it } from 'vitest';
import { jwksDown, jwksSlow } from '../helpers/faults-identity.ts';
import { expectScenario } from './expect-scenario.ts';

it('JWKS slower than fetch timeout: cached tokens work, uncached deny jwks_unavailable, no hang/forgery, recovers', {
  timeout: 90_000,
}, async () => {
  expectScenario(await jwksSlow(), 5_000);
});

it('JWKS endpoint down: cached tokens work, uncached deny jwks_unavailable, no forgery allowed, recovers when back', {
  timeout: 90_000,
}, async () => {
  expectScenario(await jwksDown(), 5_000);
});
