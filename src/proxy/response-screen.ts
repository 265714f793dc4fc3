import { Transform } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { screenServerMessage, type ServerScreen } from '../pep/list-filter.ts';
import { RpcCode, rpcError } from '../pep/message.ts';

/** What a screen knows of the requests whose answers it screens. */
export interface ScreenOptions extends ServerScreen {
  /** Whether a list request, or a tool call whose result carries a handle, is among the pending ones. */
  readonly listsPending: boolean;
}

const MAY_NAME_STATE = /tools|prompts|resources|resourceTemplates|task|requestState|\\u/;

/**
 * The upstream's messages of one answer, screened on their way to the client (see
 * {@link screenServerMessage}): list answers filtered by decision, a list-shaped answer
 * to no pending request withheld.
 */
export class ResponseScreen {
  readonly #options: ScreenOptions;

  constructor(options: ScreenOptions) {
    this.#options = options;
  }

  /** One message, screened; undefined when withheld. */
  screen(message: unknown): Promise<unknown> {
    return screenServerMessage(message, this.#options);
  }

  /**
   * Whether a JSON text needs no screening: no list is pending and it cannot name a list
   * field, a task or a request state (the words do not occur, and no \u escape could spell them).
   */
  #passes(text: string): boolean {
    return !this.#options.listsPending && !MAY_NAME_STATE.test(text);
  }

  /**
   * A whole JSON body (one message or a batch). A withheld single answer becomes an
   * error for its id, so that the client is not left waiting.
   */
  async screenJson(body: string): Promise<string> {
    if (this.#passes(body)) return body;
    const parsed: unknown = JSON.parse(body);
    if (Array.isArray(parsed)) {
      const kept = (await Promise.all(parsed.map((m) => this.screen(m)))).filter((m) => m !== undefined);
      return JSON.stringify(kept);
    }
    const screened = await this.screen(parsed);
    if (screened !== undefined) return screened === parsed ? body : JSON.stringify(screened);
    const id = (parsed as { id?: unknown }).id;
    return JSON.stringify(
      rpcError(
        typeof id === 'string' || typeof id === 'number' ? id : null,
        RpcCode.internalError,
        'Internal error: the upstream answered outside the protocol',
      ),
    );
  }

  /**
   * A stream transform for an SSE body: each event is parsed, screened and written on at
   * once (nothing is held beyond one event); a withheld message drops its event.
   */
  sseTransform(): Transform {
    const events: Promise<string>[] = [];
    const parser = createParser({
      onEvent: (event: EventSourceMessage) =>
        events.push(this.#rewrite(event.data).then((data) => (data === undefined ? '' : serializeEvent(event, data)))),
      onRetry: (ms: number) => events.push(Promise.resolve(`retry: ${ms}\n\n`)),
      onComment: (comment: string) => events.push(Promise.resolve(`:${comment}\n\n`)),
    });
    const decoder = new TextDecoder();
    const drain = async (out: Transform): Promise<void> => {
      // In order: an event waits for the screening of the ones before it.
      for (const event of events.splice(0)) {
        const text = await event;
        if (text !== '') out.push(text);
      }
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

  async #rewrite(data: string): Promise<string | undefined> {
    if (this.#passes(data)) return data;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return data;
    }
    if (Array.isArray(parsed)) {
      const kept = (await Promise.all(parsed.map((m) => this.screen(m)))).filter((m) => m !== undefined);
      return JSON.stringify(kept);
    }
    const screened = await this.screen(parsed);
    if (screened === undefined) return undefined;
    return screened === parsed ? data : JSON.stringify(screened);
  }
}

function serializeEvent(event: EventSourceMessage, data: string): string {
  let text = '';
  if (event.id !== undefined) text += `id: ${event.id}\n`;
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  for (const line of data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
