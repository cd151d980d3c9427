/**
 * Streaming JSON record readers: NDJSON (one value per line) and a top-level JSON array of values
 * (split into elements by a small scanner that tracks strings and nesting, so the whole file is never
 * parsed at once). Errors name the file and the line the bad record starts on.
 */
import { TextDecoder } from 'node:util';
import { ErrorCodes, ProllyError } from '../../errors.js';

/** One parsed JSON record and the line it starts on. */
export interface JsonRecord {
  line: number;
  value: unknown;
}

function badInput(file: string, line: number, message: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_INPUT, `${file}:${line}: ${message}`, { file, line });
}

function parseJson(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badInput(file, line, `invalid JSON: ${(err as Error).message}`);
  }
}

async function* decode(source: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let first = true;
  try {
    for await (const piece of source) {
      let text = decoder.decode(piece, { stream: true });
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      yield text;
    }
    yield decoder.decode();
  } catch (err) {
    if (err instanceof TypeError) throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}: input is not valid UTF-8`, { file });
    throw err;
  }
}

/**
 * Records of an NDJSON file, in batches. Blank lines are skipped.
 * @example for await (const batch of parseNdjson(stream, { file })) for (const { line, value } of batch) …
 */
export async function* parseNdjson(source: AsyncIterable<Uint8Array>, options: { file?: string; batchRows?: number } = {}): AsyncGenerator<JsonRecord[]> {
  const file = options.file ?? 'input';
  const batchRows = options.batchRows ?? 4096;
  let carry = '';
  let line = 1;
  let batch: JsonRecord[] = [];
  for await (const text of decode(source, file)) {
    const all = carry + text;
    let pos = 0;
    for (let nl = all.indexOf('\n'); nl >= 0; nl = all.indexOf('\n', pos)) {
      const rec = all.slice(pos, nl).trim();
      if (rec !== '') batch.push({ line, value: parseJson(rec, file, line) });
      line++;
      pos = nl + 1;
    }
    carry = all.slice(pos);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (carry.trim() !== '') batch.push({ line, value: parseJson(carry.trim(), file, line) });
  if (batch.length > 0) yield batch;
}

/**
 * Elements of a top-level JSON array, in batches, without parsing the file as a whole.
 * @example for await (const batch of parseJsonArray(stream, { file: 'rows.json' })) …
 */
export async function* parseJsonArray(source: AsyncIterable<Uint8Array>, options: { file?: string; batchRows?: number } = {}): AsyncGenerator<JsonRecord[]> {
  const file = options.file ?? 'input';
  const batchRows = options.batchRows ?? 4096;
  let line = 1;
  type State = 'start' | 'before' | 'in' | 'after' | 'end';
  let state = 'start' as State;
  let depth = 0;
  let inString = false;
  let escape = false;
  let element = '';
  let elementLine = 1;
  let batch: JsonRecord[] = [];
  const finishElement = () => {
    batch.push({ line: elementLine, value: parseJson(element, file, elementLine) });
    element = '';
  };
  for await (const text of decode(source, file)) {
    let runStart = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      if (state === 'in') {
        if (inString) {
          if (escape) escape = false;
          else if (c === 92) escape = true;
          else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          if (depth === 0) {
            // The array's closing bracket ends the last element.
            element += text.slice(runStart, i);
            finishElement();
            state = 'end';
            continue;
          }
          depth--;
        } else if (c === 44 && depth === 0) {
          element += text.slice(runStart, i);
          finishElement();
          state = 'before';
        }
        continue;
      }
      if (c === 32 || c === 9 || c === 10 || c === 13) continue;
      if (state === 'start') {
        if (c !== 91) throw badInput(file, line, 'expected a JSON array of records ("[")');
        state = 'after';
        continue;
      }
      if (state === 'after') {
        // Right after "[": either "]" (empty array) or the first element.
        if (c === 93) {
          state = 'end';
          continue;
        }
        state = 'before';
      }
      if (state === 'before') {
        if (c === 93 || c === 44) throw badInput(file, line, `unexpected ${JSON.stringify(text[i])} where an array element should start`);
        state = 'in';
        elementLine = line;
        runStart = i;
        depth = 0;
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth = 1;
        continue;
      }
      if ((state as State) === 'end') throw badInput(file, line, 'unexpected content after the end of the array');
    }
    if (state === 'in') element += text.slice(runStart);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (state !== 'end') throw badInput(file, line, state === 'start' ? 'empty input: expected a JSON array' : 'unterminated JSON array');
  if (batch.length > 0) yield batch;
}
