import { isIP } from 'node:net';

/** Whether an address (or host name) is the loopback interface. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === 'localhost') return true;
  const bare = address.replace(/^::ffff:/, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}
