/**
 * Output for commands: buffered stdout that respects back-pressure (a million-row scan piped into
 * `head` must neither balloon memory nor crash), JSON mode, and a progress line on stderr that
 * appears only for humans (stderr and stdout are terminals, NO_COLOR unset, not --json).
 */

/** Global options every command receives. */
export interface GlobalOptions {
  json: boolean;
  debug: boolean;
}

/**
 * What a command writes through.
 * @example await ctx.out.line('hello'); await ctx.out.flush();
 */
export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  /** Humans are watching: stdout is a terminal and NO_COLOR is not set. */
  readonly interactive: boolean;
  private buffer = '';
  private readonly stream: NodeJS.WriteStream;

  constructor(options: GlobalOptions, stream: NodeJS.WriteStream = process.stdout) {
    this.json = options.json;
    this.debug = options.debug;
    this.stream = stream;
    this.interactive = Boolean(stream.isTTY) && !process.env.NO_COLOR && !options.json;
  }

  /** Write one line of text. */
  async line(text: string): Promise<void> {
    this.buffer += text + '\n';
    if (this.buffer.length >= 65536) await this.flush();
  }

  /** Write raw bytes (after any buffered text). */
  async bytes(data: Uint8Array): Promise<void> {
    await this.flush();
    await this.writeRaw(data);
  }

  /** Print a value as JSON (one document). */
  async printJson(value: unknown): Promise<void> {
    await this.line(JSON.stringify(value, null, 2));
  }

  /** Write everything buffered. */
  async flush(): Promise<void> {
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    await this.writeRaw(text);
  }

  private async writeRaw(data: string | Uint8Array): Promise<void> {
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.once('drain', done);
        this.stream.once('close', done);
      });
    }
  }

  /** A progress reporter on stderr (a no-op unless a human is watching). */
  progress(label: string): Progress {
    const on = this.interactive && Boolean(process.stderr.isTTY);
    return new Progress(label, on);
  }
}

/**
 * A single redrawn status line on stderr.
 * @example const p = out.progress('importing'); p.update({ done: 10, total: 100, detail: '1,000 rows' }); p.finish();
 */
export class Progress {
  private last = 0;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
  ) {}

  update(p: { done: number; total?: number; detail?: string }): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    let text = this.label;
    if (p.total && p.total > 0) {
      const frac = Math.min(1, p.done / p.total);
      const width = 24;
      const filled = Math.round(frac * width);
      text += ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
    }
    if (p.detail) text += ` ${p.detail}`;
    process.stderr.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  finish(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

/**
 * 1234567 → "1,234,567".
 * @example formatCount(1234567) // '1,234,567'
 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Bytes → "12.3 MB" (10^6).
 * @example formatBytes(12_300_000) // '12.3 MB'
 */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}
