import { parseBundle } from './bundle.ts';
import { loadPolicyEngine, type PolicyEngine, type PolicyInput } from './engine.ts';
import { checkRoots } from './roots.ts';
import { applySigningRule, type SigningOutcome, type SigningRule } from './signing-rule.ts';

/** What a bundle that passed every check is. */
export interface CheckedBundle extends SigningOutcome {
  readonly revision: string;
}

/**
 * Everything a bundle must pass before it may be activated: it parses within `maxBytes`,
 * satisfies the signing rule, stays inside its manifest roots, instantiates, and answers
 * both entrypoints once. Their answers do not matter (a deny or a coded policy error is
 * the policy's business at decision time); that they come back at all is the point, which
 * is why this runs in a worker with a deadline (see `trial.ts`).
 */
export async function checkBundle(raw: Uint8Array, maxBytes: number, rule: SigningRule): Promise<CheckedBundle> {
  const bundle = await parseBundle(raw, maxBytes);
  const signing = await applySigningRule(bundle.files, rule);
  checkRoots(bundle);
  trialEvaluate(await loadPolicyEngine(bundle));
  return { revision: bundle.revision, ...signing };
}

function trialEvaluate(engine: PolicyEngine): void {
  const input = trialInput('tools/call');
  for (const run of [() => engine.decide(input), () => engine.grant(trialInput('session/create'))]) {
    try {
      run();
    } catch {
      // Coded policy errors are answers too; only finishing counts here.
    }
  }
}

/** An input of the documented shape that names nothing real, so that no policy has to allow it. */
function trialInput(method: string): PolicyInput {
  return {
    request: {
      method,
      tool: 'mcp-warden-trial',
      arguments: {},
      uri: null,
      prompt: null,
      protocol_version: null,
      candidates: null,
      tools: [],
    },
    principal: {
      iss: 'mcp-warden-trial',
      sub: 'trial',
      client_id: null,
      scopes: [],
      roles: [],
      spiffe_id: null,
      kind: 'user',
      claims: {},
    },
    session: null,
    server: { id: 'mcp-warden-trial' },
    caller: { id: 'mcp-warden', role: 'pep' },
    now_ns: Date.now() * 1_000_000,
  };
}
