/**
 * The local SQS's journal: one JSON record per line in `<dir>/journal.jsonl`, appended with a
 * synchronous write before the engine answers the request that caused it.
 *
 * Why this survives SIGKILL at any moment: `fs.writeSync` returns once the bytes are in the kernel's
 * page cache, which belongs to the kernel, not to the process; a killed process loses nothing it
 * wrote. Only a power loss or kernel crash could lose them, and that would need an fsync per write
 * (`fsync: true`), which the sandbox does not pay for (DynamoDB's engine, dynalite, does not fsync
 * either). A kill in the middle of a write can at worst leave the last line torn: replay ignores
 * an unterminated last line (that request was never answered, so nothing acknowledged is lost).
 *
 * Compaction: at start (and when the journal has grown well past the live state), the live state
 * is written as a fresh journal to a temporary file and renamed over the old one, so a kill during
 * compaction leaves either the old journal or the new, never a mix. Compacting at start also drops
 * a torn tail before anything is appended after it.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { MillwrightError } from '../functions/core/errors.ts';

/** The journal cannot be read back: the sandbox refuses to start rather than silently drop messages. */
export class SqsJournalError extends MillwrightError {
  constructor(
    readonly file: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `cannot replay the local SQS journal ${file}: ${reason}. To start over, run \`npm start -- --reset\``,
      options,
    );
  }
}

export interface Journal {
  readonly file: string;
  /** Append records (one write call: a batch is journaled whole or, if torn, not at all). */
  append(records: readonly object[]): void;
  /** Replace the journal with `records` (the live state), atomically. */
  rewrite(records: readonly object[]): void;
  /** Bytes appended since the last rewrite (to decide when to compact). */
  readonly appendedBytes: number;
  close(): void;
}

/** Every complete record in the journal (none if it does not exist); a torn last line is dropped. */
export function readJournal(dir: string): { records: unknown[]; tornBytes: number } {
  const file = join(dir, 'journal.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], tornBytes: 0 };
    throw new SqsJournalError(file, (error as Error).message, { cause: error });
  }
  const lines = text.split('\n');
  // The piece after the last newline is empty, or a line a kill tore mid-write.
  const torn = lines.pop() ?? '';
  const records = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch (error) {
      throw new SqsJournalError(file, `line ${i + 1} is not JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
  });
  return { records, tornBytes: Buffer.byteLength(torn) };
}

export function openJournal(dir: string, options: { fsync?: boolean } = {}): Journal {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'journal.jsonl');
  let fd = openSync(file, 'a');
  let appendedBytes = 0;
  const encode = (records: readonly object[]) =>
    Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
  return {
    file,
    get appendedBytes() {
      return appendedBytes;
    },
    append(records) {
      if (records.length === 0) return;
      const bytes = encode(records);
      const size = fstatSync(fd).size;
      try {
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written);
        if (options.fsync) fsyncSync(fd);
      } catch (error) {
        // A failed write (disk full) must not leave half a line for the next append to follow:
        // cut the journal back, and the request fails unanswered-as-success.
        ftruncateSync(fd, size);
        throw error;
      }
      appendedBytes += bytes.length;
    },
    rewrite(records) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        const out = openSync(tmp, 'w');
        try {
          const bytes = encode(records);
          let written = 0;
          while (written < bytes.length) written += writeSync(out, bytes, written);
          if (options.fsync) fsyncSync(out);
        } finally {
          closeSync(out);
        }
        renameSync(tmp, file);
      } catch (error) {
        // A half copy would only hold the disk space a full disk lacks; the journal is untouched.
        rmSync(tmp, { force: true, recursive: true });
        throw error;
      }
      closeSync(fd);
      fd = openSync(file, 'a');
      appendedBytes = 0;
    },
    close() {
      closeSync(fd);
    },
  };
}
