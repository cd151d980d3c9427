/**
 * The SSH wire encoding (RFC 4251 §5) that OpenSSH keys and SSHSIG signatures are made of:
 * big-endian uint32 and length-prefixed strings. Internal to src/sign.
 */

/** Thrown by SshReader on truncated or malformed input; callers turn it into a ProllyError naming their input. */
export class SshWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshWireError';
  }
}

/**
 * Reads uint32s and strings from SSH wire bytes, failing on any overrun.
 * @example const r = new SshReader(blob); const type = r.readUtf8(); const key = r.readString();
 */
export class SshReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Next `n` raw bytes. */
  readBytes(n: number): Uint8Array {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new SshWireError(`truncated: wanted ${n} bytes at offset ${this.offset}, ${this.remaining} left`);
    }
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Next big-endian uint32. */
  readUint32(): number {
    const b = this.readBytes(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  /** Next length-prefixed string, as bytes. */
  readString(): Uint8Array {
    return this.readBytes(this.readUint32());
  }

  /** Next length-prefixed string, decoded as UTF-8 (names, namespaces, comments). */
  readUtf8(): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.readString());
  }

  /** Everything not yet read. */
  rest(): Uint8Array {
    return this.readBytes(this.remaining);
  }
}

/**
 * Builds SSH wire bytes.
 * @example new SshWriter().string('ssh-ed25519').string(pub).finish()
 */
export class SshWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** Append raw bytes. */
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  /** Append a big-endian uint32. */
  uint32(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n >>> 0);
    return this.raw(b);
  }

  /** Append a length-prefixed string (bytes, or text encoded as UTF-8). */
  string(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    return this.uint32(bytes.length).raw(bytes);
  }

  /** The bytes written so far, as one array. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/**
 * Base64 wrapped at `width` columns, one '\n' after each line but the last, the way OpenSSH's
 * sshbuf_dtob64 wraps armored keys and signatures (70 columns).
 * @example wrapBase64(bytes, 70)
 */
export function wrapBase64(bytes: Uint8Array, width: number): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join('\n');
}

/**
 * The body between `-----BEGIN <label>-----` and `-----END <label>-----`, decoded from base64.
 * Whitespace and CRLF line ends inside the body are ignored, as OpenSSH does; returns undefined when
 * the markers are missing or the body is not base64, so callers can word the error for their input.
 * @example dearmor(text, 'SSH SIGNATURE')
 */
export function dearmor(text: string, label: string): Uint8Array | undefined {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const start = text.indexOf(begin);
  if (start < 0) return undefined;
  const stop = text.indexOf(end, start + begin.length);
  if (stop < 0) return undefined;
  const body = text.slice(start + begin.length, stop).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Standard base64 of bytes (no wrapping). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Bytes of a standard base64 string, or undefined if it is not strictly base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}
