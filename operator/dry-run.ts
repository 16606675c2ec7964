/**
 * The dry run's vendor transport (`millwright test-event --dry-run`): the fetch each connector's
 * client gets through `RuntimeEnv.transport`. Reads (GET, HEAD) reach the vendor as usual; any
 * other method is recorded and answered by the connector's `dryRun.respond` (a plausible answer its
 * client can parse), unless the connector's `dryRun.passThrough` says the write only reads (UpKeep's
 * session login, MachineMetrics' report queries).
 */
import type { ConnectorDryRun, DryRunAnswer, DryRunRequest } from '../functions/core/connector.ts';
import { MillwrightError, redact, redactDeep } from '../functions/core/errors.ts';

/** What a dry run did instead of writing: a vendor request not sent, or a state write kept in memory. */
export type RecordedWrite =
  | {
      kind: 'vendor';
      vendor: string;
      method: string;
      /** Credentials redacted. */
      url: string;
      /** Parsed when JSON; credentials redacted. */
      body?: unknown;
      /** The synthetic status the client was given. */
      answered?: number;
      /** Set when no answer could be made (the client then saw a failed request). */
      error?: string;
    }
  | {
      kind: 'state';
      operation: 'put' | 'update' | 'delete';
      /** `pk / sk` of the item. */
      key: string;
    };

/** A dry-run answer could not be built (e.g. the record a PATCH changes could not be read). */
export class DryRunAnswerError extends MillwrightError {}

const READS = new Set(['GET', 'HEAD']);

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string') return body === undefined || body === null ? undefined : '(binary body)';
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function answer({ status, body }: DryRunAnswer): Response {
  // 204 and 205 must not carry a body (the Response constructor refuses one).
  const text = body === undefined || status === 204 || status === 205 ? null : JSON.stringify(body);
  return new Response(text, {
    status,
    headers: { 'content-type': 'application/json', 'x-millwright-dry-run': 'true' },
  });
}

export interface DryRunTransportOptions {
  /** Each connector's dry-run behaviour by id (absent: every write recorded and answered 200). */
  connectors: ReadonlyMap<string, ConnectorDryRun | undefined>;
  record(write: RecordedWrite): void;
  /** What reads and pass-through writes go through (default the global fetch). */
  fetch?: typeof fetch;
}

/** `RuntimeEnv.transport` for a dry run. */
export function dryRunTransport(options: DryRunTransportOptions): (vendor: string) => typeof fetch {
  const send = options.fetch ?? fetch;
  return (vendor) => {
    const dryRun = options.connectors.get(vendor);
    const transport = async (input: string | URL | Request, init: RequestInit = {}) => {
      const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      if (READS.has(method)) return send(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      const request: DryRunRequest = { method, url, body: parseBody(init.body) };
      if (dryRun?.passThrough?.(request)) return send(input, init);

      const write: RecordedWrite = {
        kind: 'vendor',
        vendor,
        method,
        url: redact(url.toString(), []),
        ...(request.body !== undefined ? { body: redactDeep(request.body) } : {}),
      };
      options.record(write);
      const read = async (at: string | URL): Promise<unknown> => {
        const target = new URL(at, url);
        const { body: _body, method: _method, ...rest } = init;
        const response = await send(target.toString(), { ...rest, method: 'GET' });
        const text = await response.text();
        if (!response.ok) {
          throw new DryRunAnswerError(
            `${vendor}: reading ${target.pathname} for the dry-run answer gave HTTP ${response.status}`,
          );
        }
        return text ? JSON.parse(text) : undefined;
      };
      try {
        const reply = (await dryRun?.respond?.(request, read)) ?? { status: 200 };
        write.answered = reply.status;
        return answer(reply);
      } catch (error) {
        write.error = error instanceof Error ? error.message : String(error);
        throw error;
      }
    };
    return transport as typeof fetch;
  };
}
