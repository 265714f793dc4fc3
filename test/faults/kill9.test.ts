import { it } from 'vitest';
import { kill9UnderLoad } from '../helpers/faults-process.ts';
import { expectScenario } from './expect-scenario.ts';

it('kill -9 under load, restart: each decision answered pre-kill is in the verified trail; the service answers again', {
  timeout: 90_000,
}, async () => {
  expectScenario(await kill9UnderLoad(), 20_000);
});
