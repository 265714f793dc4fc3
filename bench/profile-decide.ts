// The in-process hot path, for `node --cpu-prof`:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval 100 \
//     bench/profile-decide.ts [full|policy] [seconds] [concurrency]
// then: node bench/analyze-profile.ts /tmp/prof/<file>.cpuprofile
import { decide } from '../src/decision/decide.ts';
import { buildPolicyInput } from '../src/decision/policy-input.ts';
import { hashSessionId } from '../src/session/ids.ts';
import { BENCH_CALLER, createBenchCore } from './lib/core.ts';
import { measureRounds } from './lib/rounds.ts';

const [mode = 'full', seconds = '10', concurrency = '64'] = process.argv.slice(2);
const core = await createBenchCore();
const { deps, request } = core;

let op: () => unknown;
if (mode === 'policy') {
  const engine = deps.policy.get();
  const principal = await deps.verifier.verify(request.token, request.server);
  const session = (await deps.sessions.get(hashSessionId(request.session as string))) ?? null;
  const input = buildPolicyInput({
    mcp: request.mcp,
    principal,
    session,
    server: request.server,
    caller: BENCH_CALLER,
    now: Date.now(),
  });
  op = () => engine.decide(input);
} else {
  op = () => decide(deps, request, BENCH_CALLER);
}

const result = await measureRounds(op, {
  warmupMs: 1000,
  rounds: 1,
  roundMs: Number(seconds) * 1000,
  concurrency: Number(concurrency),
});
console.log(`${mode}, ${concurrency} in flight: ${Math.round(result.median)} /s over ${seconds} s`);
await core.close();
