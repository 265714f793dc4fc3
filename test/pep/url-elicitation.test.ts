import { describe, expect, it } from 'vitest';
import type { ApprovalTicket } from '../../src/decision/types.ts';
import { forbidden } from '../../src/pep/answers.ts';
import {
  acceptsUrlElicitation,
  APPROVAL_INPUT_KEY,
  declaresUrlElicitation,
  deniedAnswer,
} from '../../src/pep/url-elicitation.ts';

// How a parked call's deny reaches the client: a URL elicitation where the client takes
// one (-32042 in 2025-11-25, an InputRequiredResult in 2026-07-28), else -32003 naming
// the approval; a deny without an approval is the plain -32003.
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';
const OLDER = '2025-06-18';
const ID = `mwa_${'x'.repeat(43)}`;
const TICKET: ApprovalTicket = {
  id: ID,
  url: `https://warden.test/approvals/${ID}`,
  expires_at: '2026-11-23T12:15:00.000Z',
  reason: 'fs_delete removes files',
};
const REASONS = [{ code: 'approval_required', message: `the call waits for an approval (${ID})` }];
const parked = (approval: ApprovalTicket = TICKET) => ({ reasons: REASONS, decision_id: 'd-1', approval });
const MESSAGE = 'Approval required: fs_delete removes files. Open the link to approve it, then retry.';
const capable = (protocolVersion: string | undefined) => ({ protocolVersion, urlElicitation: true });
const incapable = (protocolVersion: string | undefined) => ({ protocolVersion, urlElicitation: false });

/** The -32003 answer that names the approval. */
const forbiddenWithApproval = (id: string | number, approval: ApprovalTicket = TICKET) => ({
  jsonrpc: '2.0',
  id,
  error: {
    code: -32003,
    message: `Forbidden: ${REASONS[0]!.message}`,
    data: { reasons: REASONS, decision_id: 'd-1', approval },
  },
});

describe('deniedAnswer', () => {
  it('2025-11-25, URL-capable: -32042 with one URL elicitation, the reasons and the approval', () => {
    expect(deniedAnswer(7, parked(), capable(LEGACY))).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: -32042,
        message: MESSAGE,
        data: {
          elicitations: [{ mode: 'url', elicitationId: ID, url: TICKET.url, message: MESSAGE }],
          reasons: REASONS,
          decision_id: 'd-1',
          approval: TICKET,
        },
      },
    });
  });

  it('2026-07-28, URL-capable: a result, input_required, with the URL elicitation and the approval in _meta', () => {
    const answer = deniedAnswer('req-1', parked(), capable(MODERN));
    expect(answer).toEqual({
      jsonrpc: '2.0',
      id: 'req-1',
      result: {
        resultType: 'input_required',
        inputRequests: {
          [APPROVAL_INPUT_KEY]: {
            method: 'elicitation/create',
            params: { mode: 'url', url: TICKET.url, message: MESSAGE },
          },
        },
        _meta: { [APPROVAL_INPUT_KEY]: { reasons: REASONS, decision_id: 'd-1', approval: TICKET } },
      },
    });
    expect(answer).not.toHaveProperty('error');
    expect(APPROVAL_INPUT_KEY).toBe('io.github.mcp-warden/approval');
  });

  it('a later modern version is answered as 2026-07-28', () => {
    expect(deniedAnswer(1, parked(), capable('2027-01-01'))).toMatchObject({
      result: { resultType: 'input_required' },
    });
  });

  it('says what the approval is for, or that the call needs one when the policy gave no reason', () => {
    const answer = deniedAnswer(1, parked({ ...TICKET, reason: null }), capable(LEGACY)) as {
      error: { message: string; data: { elicitations: { message: string }[] } };
    };
    expect(answer.error.message).toBe(
      'Approval required: this call needs an approval. Open the link to approve it, then retry.',
    );
    expect(answer.error.data.elicitations[0]!.message).toBe(answer.error.message);
  });

  const plain: { note: string; client: { protocolVersion: string | undefined; urlElicitation: boolean } }[] = [
    { note: 'a 2025-11-25 client without URL elicitation', client: incapable(LEGACY) },
    { note: 'a 2026-07-28 client without URL elicitation', client: incapable(MODERN) },
    { note: 'a URL-capable client of 2025-06-18 (before URL elicitation)', client: capable(OLDER) },
    { note: 'a URL-capable client of 2025-03-26', client: capable('2025-03-26') },
    { note: 'a URL-capable client stating a version that is no date', client: capable('9999') },
    { note: 'a client of no known version', client: capable(undefined) },
  ];
  for (const { note, client } of plain) {
    it(`-32003 with data.approval for ${note}`, () => {
      expect(deniedAnswer(3, parked(), client)).toEqual(forbiddenWithApproval(3));
    });
  }

  it('-32003 with data.approval when the service serves no approval page (url null), in either era', () => {
    const noPage = { ...TICKET, url: null };
    for (const version of [LEGACY, MODERN]) {
      expect(deniedAnswer(4, parked(noPage), capable(version)), version).toEqual(forbiddenWithApproval(4, noPage));
    }
  });

  it("a deny without an approval is exactly forbidden()'s answer, whatever the client takes", () => {
    const denied = {
      reasons: [{ code: 'destructive_requires_role', message: 'fs_delete needs admin' }],
      decision_id: 'd-2',
    };
    for (const client of [capable(LEGACY), capable(MODERN), incapable(LEGACY), capable(undefined)]) {
      expect(deniedAnswer(5, denied, client)).toEqual(forbidden(5, denied));
    }
    const refused = { reasons: [{ code: 'pdp_unavailable', message: 'no answer' }], decision_id: null };
    expect(deniedAnswer('x', refused, capable(MODERN))).toEqual(forbidden('x', refused));
    expect(deniedAnswer('x', refused, capable(MODERN))).toMatchObject({ error: { code: -32003 } });
  });
});

describe('declaresUrlElicitation', () => {
  it('is elicitation.url, whatever else is declared', () => {
    expect(declaresUrlElicitation({ elicitation: { url: {} } })).toBe(true);
    expect(declaresUrlElicitation({ elicitation: { form: {}, url: {} }, sampling: {} })).toBe(true);
    expect(declaresUrlElicitation({ elicitation: { url: { extra: true } } })).toBe(true);
  });

  it('form-only elicitation (elicitation: {} means form) is not URL elicitation', () => {
    expect(declaresUrlElicitation({ elicitation: {} })).toBe(false);
    expect(declaresUrlElicitation({ elicitation: { form: {} } })).toBe(false);
    expect(declaresUrlElicitation({ sampling: {}, roots: {} })).toBe(false);
    expect(declaresUrlElicitation({})).toBe(false);
  });

  it('non-object capabilities or elicitation are false', () => {
    for (const capabilities of [undefined, null, 'url', 42, true, [], [{ elicitation: { url: {} } }]]) {
      expect(declaresUrlElicitation(capabilities), JSON.stringify(capabilities)).toBe(false);
    }
    for (const elicitation of [null, 'url', 1, true, ['url'], [{ url: {} }]]) {
      expect(declaresUrlElicitation({ elicitation }), JSON.stringify(elicitation)).toBe(false);
    }
  });

  // Capabilities are objects (MCP schema: `url?: object`): `url: false` declares nothing.
  it('a non-object elicitation.url (false, null, a string) is not a declaration', () => {
    for (const url of [false, null, 'yes', 0, []]) {
      expect(declaresUrlElicitation({ elicitation: { url } }), JSON.stringify(url)).toBe(false);
    }
  });
});

describe('acceptsUrlElicitation', () => {
  const call = (meta: unknown) => ({
    method: 'tools/call',
    params: { name: 'fs_delete', arguments: { path: '/srv/data/a' }, ...(meta === undefined ? {} : { _meta: meta }) },
  });
  const stating = (capabilities: unknown) => call({ 'io.modelcontextprotocol/clientCapabilities': capabilities });

  it("2026-07-28: the request's own _meta clientCapabilities, never what an initialize declared", () => {
    expect(acceptsUrlElicitation(stating({ elicitation: { url: {} } }), MODERN, false)).toBe(true);
    expect(acceptsUrlElicitation(stating({ elicitation: { form: {}, url: {} } }), MODERN, false)).toBe(true);
    expect(acceptsUrlElicitation(stating({ elicitation: {} }), MODERN, true)).toBe(false);
    expect(acceptsUrlElicitation(stating({ elicitation: { form: {} } }), MODERN, true)).toBe(false);
    expect(acceptsUrlElicitation(stating({}), MODERN, true)).toBe(false);
    expect(acceptsUrlElicitation(call(undefined), MODERN, true)).toBe(false);
    expect(acceptsUrlElicitation(call({}), MODERN, true)).toBe(false);
    // The capability is read under its _meta key only, not from params or another key.
    const elsewhere = {
      method: 'tools/call',
      params: {
        capabilities: { elicitation: { url: {} } },
        _meta: { clientCapabilities: { elicitation: { url: {} } } },
      },
    };
    expect(acceptsUrlElicitation(elsewhere, MODERN, false)).toBe(false);
  });

  it('2026-07-28 non-object _meta or capabilities are false', () => {
    for (const meta of [
      null,
      'x',
      1,
      [],
      [{ 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } }],
    ]) {
      expect(acceptsUrlElicitation(call(meta), MODERN, true), JSON.stringify(meta)).toBe(false);
    }
    for (const capabilities of [null, 'elicitation', 7, [], [{ elicitation: { url: {} } }]]) {
      expect(acceptsUrlElicitation(stating(capabilities), MODERN, true), JSON.stringify(capabilities)).toBe(false);
    }
    for (const elicitation of [null, 'url', true, ['url']]) {
      expect(acceptsUrlElicitation(stating({ elicitation }), MODERN, true), JSON.stringify(elicitation)).toBe(false);
    }
  });

  it("a 2026-07-28 initialize is read from its params' capabilities", () => {
    const initialize = (capabilities: unknown) => ({
      method: 'initialize',
      params: { protocolVersion: MODERN, capabilities, clientInfo: { name: 'c', version: '1' } },
    });
    expect(acceptsUrlElicitation(initialize({ elicitation: { url: {} } }), MODERN, false)).toBe(true);
    expect(acceptsUrlElicitation(initialize({ elicitation: {} }), MODERN, true)).toBe(false);
  });

  it("legacy: what the session's initialize declared, whatever a request's _meta says", () => {
    for (const version of [LEGACY, OLDER, undefined]) {
      expect(acceptsUrlElicitation(call(undefined), version, true), String(version)).toBe(true);
      expect(acceptsUrlElicitation(stating({ elicitation: { url: {} } }), version, false), String(version)).toBe(false);
      expect(acceptsUrlElicitation(stating({ elicitation: {} }), version, true), String(version)).toBe(true);
    }
  });
});
