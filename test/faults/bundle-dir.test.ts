import { it } from 'vitest';
import { bundleDirRemoved } from '../helpers/faults-policy.ts';
import { expectScenario } from './expect-scenario.ts';

it('bundle directory removed while watched: the last good policy keeps deciding, /health WARN (200), a bundle in the re-created directory is loaded by the watcher', {
  timeout: 90_000,
}, async () => {
  expectScenario(await bundleDirRemoved(), 5_000);
});
