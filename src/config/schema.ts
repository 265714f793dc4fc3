import { z } from 'zod';
import { approvalsConfigSchema } from './approvals.ts';
import { auditConfigSchema } from './audit.ts';
import { callersConfigSchema } from './callers.ts';
import { consoleConfigSchema } from './console.ts';
import { identityConfigSchema } from './identity.ts';
import { policyConfigSchema } from './policy.ts';
import { proxyConfigSchema } from './proxy.ts';
import { serverConfigSchema } from './server.ts';
import { sessionConfigSchema } from './session.ts';

/** The whole configuration: one schema, one sub-schema per concern. */
export const configSchema = z.strictObject({
  server: serverConfigSchema.default(serverConfigSchema.parse({})),
  identity: identityConfigSchema.default(identityConfigSchema.parse({})),
  session: sessionConfigSchema.default(sessionConfigSchema.parse({})),
  policy: policyConfigSchema.default(policyConfigSchema.parse({})),
  audit: auditConfigSchema.default(auditConfigSchema.parse({})),
  callers: callersConfigSchema.default(callersConfigSchema.parse({})),
  proxy: proxyConfigSchema.default(proxyConfigSchema.parse({})),
  approvals: approvalsConfigSchema.default(approvalsConfigSchema.parse({})),
  /** The incident-review console; absent: none is served. */
  console: consoleConfigSchema.optional(),
});

/** Parsed, defaulted, frozen configuration. */
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
