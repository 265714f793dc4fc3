import type { ApprovalStore } from '../../src/approval/record.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import type { PolicyEngine } from '../../src/policy/engine.ts';

/** The approval page test cores name. */
export const PAGE = 'https://warden.test/approvals';

/** The default policy, with `obligation` added to every allowed call of the gated tools. */
export function gatedEngine(engine: PolicyEngine, gated: Record<string, unknown>): PolicyEngine {
  return {
    revision: engine.revision,
    grant: (input) => engine.grant(input),
    handleArgument: (tool) => engine.handleArgument(tool),
    handleResult: (tool) => engine.handleResult(tool),
    decide(input) {
      const output = engine.decide(input);
      const tool = (input.request as { tool?: string } | undefined)?.tool;
      if (!output.allow || tool === undefined || !(tool in gated)) return output;
      return { ...output, obligations: { approval: gated[tool] } };
    },
  };
}

/** Core deps with approvals kept in `store`. */
export function withApprovals(deps: CoreDeps, store: ApprovalStore): CoreDeps {
  return {
    ...deps,
    approvals: {
      store,
      pageUrl: PAGE,
      requestTtlSeconds: 900,
      grantTtlSeconds: 300,
      maxRequestTtlSeconds: 3600,
      maxGrantTtlSeconds: 600,
    },
  };
}
