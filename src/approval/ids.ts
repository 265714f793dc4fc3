import { hash, randomBytes } from 'node:crypto';

const PREFIX = 'mwa_';
/** 32 random bytes → 43 base64url characters. */
const ID_PATTERN = /^mwa_[A-Za-z0-9_-]{43}$/;

/** A new approval id: 256 bits from the CSPRNG. A reference for requester and approver, not a credential. */
export function newApprovalId(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Whether `id` has the shape of an approval id (no store lookup needed otherwise). */
export function isApprovalId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** The key a record is stored under. */
export function approvalIdHash(id: string): string {
  return hash('sha256', id, 'hex');
}
