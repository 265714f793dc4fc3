import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { createAuditSink } from '../audit/create-sink.ts';
import type { AuditKind } from '../audit/record.ts';
import { verifyTrail } from '../audit/verify.ts';
import { commandConfig } from './config.ts';
import { hashSessionId, kindOfId } from '../session/ids.ts';

/** `mcp-warden audit verify|query`: the trail of the configured sink (file or PostgreSQL). */
export async function auditCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      file: { type: 'string' },
      keys: { type: 'string' },
      session: { type: 'string' },
      subject: { type: 'string' },
      'client-id': { type: 'string' },
      tool: { type: 'string' },
      server: { type: 'string' },
      kind: { type: 'string' },
      outcome: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', default: '100' },
      cursor: { type: 'string' },
    },
    strict: true,
  });
  const config = commandConfig({
    file: values.config,
    overrides: { audit: { file: values.file, ...(values.file ? { sink: 'file' } : {}) } },
  });
  if (config === null) return 2;
  const { sink, signer } = await createAuditSink(config.audit);
  await sink.start();
  try {
    if (verb === 'verify') {
      // An auditor may hold only the public keys; by default, the checkpoint key's own.
      const keys = values.keys ? (JSON.parse(readFileSync(values.keys, 'utf8')) as JSONWebKeySet) : signer.publicJwks;
      const verdict = await verifyTrail(sink, keys).catch((err: Error) => ({
        ok: false as const,
        chain: '?',
        seq: 0,
        problem: err.message,
      }));
      if (verdict.ok) {
        console.log(
          `ok: ${verdict.records} records in ${verdict.chains} chain(s), ` +
            `${verdict.checkpoints} signed checkpoint(s) verified`,
        );
        return 0;
      }
      console.error(`BROKEN: chain ${verdict.chain}, record ${verdict.seq}: ${verdict.problem}`);
      return 1;
    }
    if (verb === 'query') {
      const session =
        values.session && kindOfId(values.session) !== null ? hashSessionId(values.session) : values.session;
      const page = await sink.query({
        session,
        subject: values.subject,
        client_id: values['client-id'],
        tool: values.tool,
        server: values.server,
        kind: values.kind as AuditKind | undefined,
        allow: values.outcome === undefined ? undefined : values.outcome === 'allow',
        since: values.since,
        until: values.until,
        limit: Number(values.limit),
        cursor: values.cursor,
      });
      for (const record of page.records) console.log(JSON.stringify(record));
      if (page.next) console.error(`more: --cursor ${page.next}`);
      return 0;
    }
    console.error('usage: mcp-warden audit verify|query [--config f] [--file f] …');
    return 2;
  } finally {
    await sink.stop();
  }
}
