import { z } from 'zod';

const reasonSchema = z.object({ code: z.string().min(1), message: z.string().default('') });

/** What `mcp/authz/decision` must return; anything else is a policy error. */
export const decisionOutputSchema = z.object({
  allow: z.boolean(),
  reasons: z.array(reasonSchema).default([]),
  obligations: z.record(z.string(), z.unknown()).default({}),
  visible: z.array(z.string()).nullable().default(null),
  /** Step-up: the OAuth scopes a token would need for a denied request to pass. */
  required_scopes: z.array(z.string()).default([]),
});

/** What `mcp/session/grant` must return. */
export const grantOutputSchema = z.object({
  allow: z.boolean(),
  scope: z.array(z.string()).default([]),
  ttl_seconds: z.number().int().positive(),
  idle_seconds: z.number().int().positive(),
  reasons: z.array(reasonSchema).default([]),
  /** Step-up: the OAuth scopes whose role would grant the refused tools. */
  required_scopes: z.array(z.string()).default([]),
});

export type DecisionOutput = z.infer<typeof decisionOutputSchema>;
export type GrantOutput = z.infer<typeof grantOutputSchema>;
