import { it } from 'vitest';
import { bundleDirRemoved } from '../helpers/faults-policy.ts';
import { expectScenario } from './expect-scenario.ts';

it('bundle dir removed while watched: last good policy decides, /health WARN (200), the re-created dir is loaded', {
  timeout: 90_000,
}, async () => {
  expectScenario(await bundleDirRemoved(), 5_000);
});
