import { Transform } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { filterListResult } from '../pep/list-filter.ts';
import type { JsonRpcId } from './protocol.ts';

/** Asks which of the upstream's names or URIs this principal may see (a decision with candidates). */
export type VisibleAmong = (method: string, candidates: readonly string[]) => Promise<readonly string[] | null>;

/**
 * The list requests of one POST whose responses must be filtered before they reach the
 * client (request id → method): each response's names are decided as candidates.
 */
export class PendingLists {
  readonly #byId = new Map<string, string>();
  readonly #visibleAmong: VisibleAmong;

  constructor(visibleAmong: VisibleAmong = async () => null) {
    this.#visibleAmong = visibleAmong;
  }

  add(id: JsonRpcId, method: string): void {
    this.#byId.set(JSON.stringify(id), method);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** A JSON-RPC message, filtered if it answers one of the pending list requests. */
  async filter(message: unknown): Promise<unknown> {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
    const m = message as Record<string, unknown>;
    if (!('id' in m) || m.result === null || typeof m.result !== 'object') return message;
    const method = this.#byId.get(JSON.stringify(m.id));
    if (method === undefined) return message;
    const result = await filterListResult(method, m.result as Record<string, unknown>, (candidates) => this.#visibleAmong(method, candidates));
    return { ...m, result };
  }

  /** Filters a whole JSON body (one message or a batch). */
  async filterJson(body: string): Promise<string> {
    return JSON.stringify(await this.#filterParsed(JSON.parse(body)));
  }

  /**
   * A stream transform for an SSE body: each event is parsed, list responses among them
   * filtered, and the event written on at once (nothing is held beyond one event).
   */
  sseTransform(): Transform {
    const events: Promise<string>[] = [];
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => events.push(this.#rewrite(event.data).then((data) => serializeEvent(event, data))),
      onRetry: (ms: number) => events.push(Promise.resolve(`retry: ${ms}\n\n`)),
      onComment: (comment: string) => events.push(Promise.resolve(`:${comment}\n\n`)),
    });
    const decoder = new TextDecoder();
    const drain = async (out: Transform): Promise<void> => {
      // In order: an event waits for the filtering of the ones before it.
      for (const event of events.splice(0)) out.push(await event);
    };
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        drain(this).then(() => done(), done);
      },
      flush(done) {
        parser.feed(decoder.decode());
        drain(this).then(() => done(), done);
      },
    });
  }

  async #rewrite(data: string): Promise<string> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return data;
    }
    const filtered = await this.#filterParsed(parsed);
    return filtered === parsed ? data : JSON.stringify(filtered);
  }

  async #filterParsed(parsed: unknown): Promise<unknown> {
    return Array.isArray(parsed) ? Promise.all(parsed.map((m) => this.filter(m))) : this.filter(parsed);
  }
}

function serializeEvent(event: EventSourceMessage, data: string): string {
  let text = '';
  if (event.id !== undefined) text += `id: ${event.id}\n`;
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  for (const line of data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
