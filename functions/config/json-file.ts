/**
 * Reads a JSON file an operator edits (deployment config, sandbox secrets). A syntax error names the
 * file, the line and the column, and shows the line, so the fix takes seconds.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';

/**
 * A JSON syntax error's character offset: Node says "... at position N", except for an unexpected
 * token (a value left unquoted), where it quotes the text around it instead; the end otherwise.
 */
function offsetOf(error: Error, text: string): number {
  const match = /at position (\d+)/.exec(error.message);
  if (match) return Number(match[1]);
  return tokenOffset(error.message, text) ?? text.length;
}

/** V8 quotes 10 characters either side of an unexpected token, marking a cut with `...`. */
const CONTEXT_CHARS = 10;

function tokenOffset(message: string, text: string): number | undefined {
  const match = /^Unexpected token '(.+?)', (\.\.\.)?"(.*)"(\.\.\.)? is not valid JSON$/s.exec(message);
  if (!match) return undefined;
  const [, token = '', cutBefore, context = '', cutAfter] = match;
  if (cutBefore) {
    const at = text.indexOf(context);
    return at < 0 ? undefined : at + CONTEXT_CHARS;
  }
  if (cutAfter) return Math.max(0, context.length - CONTEXT_CHARS);
  return firstOutsideStrings(text, token);
}

/** Where `token` first occurs outside a JSON string (the whole text was quoted: it is short). */
function firstOutsideStrings(text: string, token: string): number | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (text.startsWith(token, i)) return i;
  }
  return undefined;
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Node's JSON error text with no piece of the input: "Unexpected token 'x', ..."abc"... is not valid
 * JSON" quotes the text around the error, which in a secrets file is a secret.
 */
const withoutInput = (reason: string): string =>
  /^Unexpected token|is not valid JSON$/.test(reason) ? 'unexpected token' : reason;

/**
 * `what` names the file's role in messages: "config", "secrets". A file holding `secret` values gets
 * file, line and column in its syntax errors, never the line or any of its text.
 */
export function readJsonFile(path: string, what: string, options: { secret?: boolean } = {}): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('', `cannot read ${path}: ${(error as Error).message}`, { cause: error, what });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const { line, column } = lineAndColumn(text, offsetOf(error as Error, text));
    const source = text.split('\n')[line - 1] ?? '';
    // Node's own text ends with the position, or quotes the whole input; the line shown is clearer.
    const reason = (error as Error).message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/,? (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '');
    const caret = `${' '.repeat(Math.max(0, column - 1))}^`;
    const where = `cannot read ${path}: not valid JSON at line ${line}, column ${column}`;
    // The parser's error (the cause) quotes the input too: a secrets file's error keeps none of it.
    if (options.secret) throw new ConfigError('', `${where}: ${withoutInput(reason)}`, { what });
    throw new ConfigError('', `${where}: ${reason}\n    ${source}\n    ${caret}`, { cause: error, what });
  }
}
