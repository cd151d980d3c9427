/**
 * A streaming RFC 4180 CSV parser: comma separator, `"` quoting with `""` escapes, quoted fields may
 * hold commas and line breaks, records end with LF or CRLF. Strict where the RFC is (a quote inside
 * an unquoted field, text after a closing quote, an unterminated quote, a row with the wrong number of
 * fields are errors naming the line); lenient about a UTF-8 BOM, a missing final newline and blank
 * lines. Rows come out in batches so the per-row cost stays a few string operations — the common
 * unquoted row is split with indexOf, not scanned character by character.
 */
import { TextDecoder } from 'node:util';
import { ErrorCodes, ProllyError } from '../../errors.js';

/** One parsed record and the (1-based) line it starts on. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** Options for {@link parseCsv}. */
export interface CsvOptions {
  /** Name used in error messages (the file path). */
  file?: string;
  /** Rows per yielded batch (default 4096). */
  batchRows?: number;
}

/**
 * Parse CSV bytes into rows, in batches. The first row is returned like any other (it is the header
 * for the caller). Every row must have as many fields as the first.
 *
 * @example
 * for await (const rows of parseCsv(fs.createReadStream('users.csv'), { file: 'users.csv' }))
 *   for (const { line, fields } of rows) …
 */
export async function* parseCsv(source: AsyncIterable<Uint8Array>, options: CsvOptions = {}): AsyncGenerator<CsvRow[]> {
  const file = options.file ?? 'input';
  const batchRows = options.batchRows ?? 4096;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  let line = 1;
  let width = -1;
  let first = true;
  let batch: CsvRow[] = [];
  const fail = (at: number, message: string): never => {
    throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}:${at}: ${message}`, { file, line: at });
  };
  const emit = (fields: string[], at: number) => {
    if (fields.length === 1 && fields[0] === '') return; // blank line
    if (width < 0) width = fields.length;
    else if (fields.length !== width) fail(at, `expected ${width} fields (as in the header), got ${fields.length}`);
    batch.push({ line: at, fields });
  };

  /** Parse complete records from `text`; return the index where an incomplete record starts. */
  const parse = (text: string, final: boolean): number => {
    let pos = 0;
    const n = text.length;
    // Position of the next quote at or after pos, cached: rescanning per row would be quadratic.
    let quote = -1;
    while (pos < n) {
      const nl = text.indexOf('\n', pos);
      if (quote !== Infinity && quote < pos) {
        quote = text.indexOf('"', pos);
        if (quote < 0) quote = Infinity;
      }
      if (nl < 0 && !final) return pos;
      const end = nl < 0 ? n : nl;
      if (quote > end) {
        // Fast path: no quotes in this record.
        let rec = text.slice(pos, end);
        if (rec.endsWith('\r')) rec = rec.slice(0, -1);
        emit(rec.split(','), line);
        line++;
        pos = end + 1;
        continue;
      }
      // Slow path: scan the record character by character; it may span lines.
      const startLine = line;
      const fields: string[] = [];
      let field = '';
      let i = pos;
      let fieldStart = true;
      let done = false;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (fieldStart && c === 34 /* " */) {
          // Quoted field.
          i++;
          let closed = false;
          while (i < n) {
            const q = text.indexOf('"', i);
            if (q < 0) {
              break;
            }
            const chunk = text.slice(i, q);
            for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
            field += chunk;
            if (text.charCodeAt(q + 1) === 34) {
              field += '"';
              i = q + 2;
              continue;
            }
            if (q + 1 >= n && !final) break; // cannot tell "" from " yet
            i = q + 1;
            closed = true;
            break;
          }
          if (!closed) {
            if (!final) {
              line = startLine;
              return pos;
            }
            fail(startLine, 'unterminated quoted field');
          }
          const next = text.charCodeAt(i);
          if (i >= n || next === 44 /* , */ || next === 10 || (next === 13 && text.charCodeAt(i + 1) === 10) || (next === 13 && i + 1 >= n && final)) {
            fieldStart = false;
            continue;
          }
          if (next === 13 && i + 1 >= n && !final) {
            line = startLine;
            return pos;
          }
          fail(line, `unexpected character ${JSON.stringify(text[i])} after a closing quote`);
        }
        if (c === 44) {
          fields.push(field);
          field = '';
          fieldStart = true;
          i++;
          continue;
        }
        if (c === 10 || (c === 13 && text.charCodeAt(i + 1) === 10)) {
          i += c === 13 ? 2 : 1;
          done = true;
          break;
        }
        if (c === 13 && i + 1 >= n && !final) {
          line = startLine;
          return pos;
        }
        if (c === 34) fail(line, 'a quote inside an unquoted field (quote the whole field and double the quote: "a""b")');
        // Unquoted run up to the next separator, quote or line break.
        let j = i;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 44 || d === 10 || d === 13 || d === 34) break;
          j++;
        }
        if (j === i) {
          // A lone CR not followed by LF: keep it as data.
          field += text[i];
          i++;
        } else {
          field += text.slice(i, j);
          i = j;
        }
        fieldStart = false;
      }
      if (!done && !final) {
        line = startLine;
        return pos;
      }
      fields.push(field);
      emit(fields, startLine);
      line++;
      pos = i;
    }
    return n;
  };

  for await (const piece of source) {
    let text = decodeChunk(decoder, piece, false, file, line);
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    text = carry + text;
    const used = parse(text, false);
    carry = text.slice(used);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  let tail = carry + decodeChunk(decoder, new Uint8Array(0), true, file, line);
  if (first && tail.charCodeAt(0) === 0xfeff) tail = tail.slice(1);
  parse(tail, true);
  if (batch.length > 0) yield batch;
}

function decodeChunk(decoder: TextDecoder, bytes: Uint8Array, final: boolean, file: string, line: number): string {
  try {
    return decoder.decode(bytes, { stream: !final });
  } catch {
    throw new ProllyError(ErrorCodes.BAD_INPUT, `${file}:${line}: input is not valid UTF-8 (near this line)`, { file, line });
  }
}
