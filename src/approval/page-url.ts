import { ownUrl } from '../config/own-url.ts';
import type { Config } from '../config/schema.ts';

/**
 * Where clients are sent to have a parked call approved: `approvals.page_url`, else this
 * service's own page on its listen address when the port is fixed, else none (the deny
 * still names the approval id).
 */
export function approvalPageUrl(config: Pick<Config, 'approvals' | 'server'>): string | null {
  return config.approvals.page_url ?? ownUrl(config.server, '/approvals');
}
