import { it } from 'vitest';
import { sigtermUnderLoad } from '../helpers/faults-process.ts';
import { expectScenario } from './expect-scenario.ts';

it('SIGTERM under load: in-flight requests finish with 200 and are audited, new ones are refused, a final checkpoint, exit 0, audit verify passes; the restarted service answers', { timeout: 90_000 }, async () => {
  expectScenario(await sigtermUnderLoad(), 20_000);
});
