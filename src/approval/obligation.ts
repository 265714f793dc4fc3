import { z } from 'zod';
import { ApprovalInvalid } from '../errors.ts';

const names = z.array(z.string().min(1).max(256)).max(64).default([]);

/** Who may approve a parked call: the requester itself (re-authenticated), or others named by role, subject, group. */
const approversSchema = z.union([
  z.literal('self'),
  z
    .strictObject({ roles: names, subjects: names, groups: names })
    .refine((a) => a.roles.length + a.subjects.length + a.groups.length > 0, {
      message: 'names no role, subject or group',
    }),
]);

/**
 * The `approval` obligation (docs/approvals.md): the call is allowed once a human
 * approved this exact call. `approvers` says who may (never the requester, unless
 * `self`), `grant_ttl_seconds` how long a grant waits for its one use,
 * `request_ttl_seconds` how long the call waits for an approver, `reason` what the
 * approver is shown.
 */
export const approvalObligationSchema = z.strictObject({
  approvers: approversSchema,
  grant_ttl_seconds: z.number().int().min(1).max(86_400).optional(),
  request_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
  reason: z.string().min(1).max(1024).optional(),
});

export type ApprovalObligation = z.infer<typeof approvalObligationSchema>;
export type Approvers = ApprovalObligation['approvers'];

/** The obligation's name in a decision's `obligations`. */
export const APPROVAL_OBLIGATION = 'approval';

/**
 * The policy's `approval` obligation, checked: a malformed one is the policy's bug, and
 * denies (`approval_invalid`).
 */
export function parseApprovalObligation(value: unknown): ApprovalObligation {
  const parsed = approvalObligationSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length === 0 ? 'approval' : `approval.${issue.path.join('.')}`;
  throw new ApprovalInvalid(`the policy's obligation ${where} is malformed: ${issue.message}`);
}
