import type { ActorRef, SessionOwner } from '../../../session/record.ts';
import { type Html, html } from '../../web/html.ts';

/** An owner (or a recorded principal): subject, issuer, client, and the actor chain it acted through. */
export function ownerCell(
  owner: Pick<SessionOwner, 'iss' | 'sub' | 'client_id'> & {
    readonly actor?: readonly ActorRef[] | undefined;
  },
): Html {
  const chain = owner.actor ?? [];
  return html`<code>${owner.sub}</code><br><small>${owner.iss}</small>${
    chain.length === 0 ? '' : html`<br>via ${chainText(chain)}`
  }`;
}

/** An actor chain, most recent actor first, as text. */
export function chainText(chain: readonly Pick<ActorRef, 'sub' | 'spiffe_id'>[]): string {
  return chain.map((a) => a.spiffe_id ?? a.sub).join(' → ');
}
