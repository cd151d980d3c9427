/**
 * How keys and values look on a terminal and in JSON. Keys and values are bytes; most are UTF-8
 * text, shown as is. Text that could be misread (control characters, a ` = `, surrounding spaces)
 * is shown JSON-quoted; bytes that are not UTF-8 are shown as 0x-hex. Blobs show their size.
 */
import { isUtf8 } from 'node:buffer';
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { toHex } from '../util/bytes.js';

/**
 * Bytes as UTF-8 text, or undefined when they are not valid UTF-8.
 * @example asText(utf8('hi')) // 'hi'; asText(new Uint8Array([0xff])) // undefined
 */
export function asText(bytes: Uint8Array): string | undefined {
  return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : undefined;
}

// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\x00-\x1f\x7f]|^\s|\s$|^"| = |^$/;

/**
 * A key for display: plain text, JSON-quoted text, or 0x-hex.
 * @example displayKey(utf8('user/1')) // 'user/1'
 */
export function displayKey(key: Uint8Array): string {
  const text = asText(key);
  if (text === undefined) return `0x${toHex(key)}`;
  return NEEDS_QUOTES.test(text) ? JSON.stringify(text) : text;
}

/**
 * A value for display, cut to `max` characters (default: whole).
 * @example displayValue(utf8('{"a":1}')) // '{"a":1}'
 */
export function displayValue(value: TreeValue, max = Infinity): string {
  if (value instanceof BlobRef) return `<blob ${value.length} bytes ${toHex(value.address).slice(0, 12)}>`;
  const text = asText(value);
  if (text === undefined) {
    const hex = toHex(value.length * 2 > max ? value.subarray(0, Math.max(1, Math.floor(max / 2))) : value);
    return `0x${hex}${hex.length < value.length * 2 ? `… (${value.length} bytes)` : ''}`;
  }
  // eslint-disable-next-line no-control-regex
  const shown = /[\x00-\x1f\x7f]/.test(text) || /^\s|\s$/.test(text) || text === '' ? JSON.stringify(text) : text;
  return shown.length > max ? `${shown.slice(0, max)}… (${value.length} bytes)` : shown;
}

/**
 * A key for JSON output: `{ key }` when UTF-8, `{ key: null, keyHex }` otherwise.
 * @example jsonKey(utf8('a')) // { key: 'a' }
 */
export function jsonKey(key: Uint8Array): { key: string | null; keyHex?: string } {
  const text = asText(key);
  return text === undefined ? { key: null, keyHex: toHex(key) } : { key: text };
}

/**
 * A value for JSON output under `name`: text when UTF-8, else base64 under `<name>Base64`; blobs add
 * `<name>Blob` with address and length when not read.
 * @example jsonValue('value', utf8('1')) // { value: '1' }
 */
export function jsonValue(name: string, value: TreeValue | undefined): Record<string, unknown> {
  if (value === undefined) return { [name]: null };
  if (value instanceof BlobRef) return { [name]: null, [`${name}Blob`]: { address: toHex(value.address), length: value.length } };
  const text = asText(value);
  return text === undefined ? { [name]: null, [`${name}Base64`]: Buffer.from(value).toString('base64') } : { [name]: text };
}

/**
 * First 12 hex digits of an address (like git's abbreviated ids).
 * @example shortHex(pointer.root) // '1a2b3c4d5e6f'
 */
export function shortHex(bytes: Uint8Array): string {
  return toHex(bytes).slice(0, 12);
}
