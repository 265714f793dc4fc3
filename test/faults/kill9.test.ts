import { it } from 'vitest';
import { kill9UnderLoad } from '../helpers/faults-process.ts';
import { expectScenario } from './expect-scenario.ts';

it('kill -9 under load then restart: every decision answered before the kill is in the trail, the trail verifies after the restart, the restarted service answers', {
  timeout: 90_000,
}, async () => {
  expectScenario(await kill9UnderLoad(), 20_000);
});
