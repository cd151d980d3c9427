/**
 * ObjectBackend over an S3-compatible object store through an injected `S3Client`
 * (@aws-sdk/client-s3). Credentials never pass through here: the client resolves them from the
 * environment / AWS credential chain. Every PUT carries the SHA-256 of its bytes
 * (`x-amz-checksum-sha256`) so the server rejects bytes damaged in transit; objects above a size
 * threshold go up as multipart uploads; reads may be ranged; each request has a timeout and is
 * retried with backoff on transient failures.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ObjectLockMode,
  type PutObjectCommandInput,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { sha256 } from '../../util/hash.js';
import {
  assertObjectName,
  assertRange,
  emptyBackendStats,
  type ByteRange,
  type ObjectBackend,
  type ObjectBackendStats,
  type ObjectInfo,
  type PutObjectOptions,
} from './object-backend.js';
import { isTransientError, withRetry, type RetryPolicy } from './retry.js';

/** Connection settings for `createS3Client`; never credentials (those come from the environment). */
export interface S3ClientConfig {
  /** AWS region; defaults to AWS_REGION / AWS_DEFAULT_REGION, then us-east-1. */
  region?: string;
  /** Endpoint URL of an S3-compatible server (MinIO, s3rver, Ceph…); omit for AWS. */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`); needed by most S3-compatible servers. Defaults to true when `endpoint` is set. */
  forcePathStyle?: boolean;
}

/**
 * An S3Client set up the way S3Backend expects: checksums only when an operation requires them
 * (S3Backend sends its own SHA-256; the SDK's default CRC with aws-chunked framing is stored
 * verbatim by some S3-compatible servers), and no SDK-level retries (S3Backend retries itself).
 *
 * @example
 * const client = createS3Client({ endpoint: 'http://127.0.0.1:4568', region: 'us-east-1' });
 * const backend = new S3Backend({ client, bucket: 'data', prefix: 'prolly' });
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    region: config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle ?? Boolean(config.endpoint),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

export interface S3BackendOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix under which every object lives (`prefix/packs/…`); '' for the bucket root. */
  prefix?: string;
  /** S3 storage class for new objects (e.g. STANDARD_IA); the server default when absent. */
  storageClass?: string;
  /** Objects larger than this go up as multipart uploads (default 16 MiB). */
  multipartThreshold?: number;
  /** Part size for multipart uploads (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Object Lock mode used when a put carries `retainUntil` (default GOVERNANCE). */
  objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  /**
   * How putIfAbsent works: 'if-none-match' sends `If-None-Match: *` (atomic on AWS S3 and MinIO;
   * s3rver ignores it); 'head' (default) checks with HEAD first — portable but racy.
   */
  conditionalPut?: 'if-none-match' | 'head';
  /** Retry and timeout policy for every request. */
  retry?: RetryPolicy;
}

const MiB = 1024 * 1024;

/**
 * S3 (or S3-compatible) objects under `s3://bucket/prefix/`.
 *
 * @example
 * const backend = new S3Backend({ client: createS3Client({ region: 'eu-west-1' }), bucket: 'my-data', prefix: 'prolly' });
 * await backend.put('packs/ab.pack', bytes);
 * const head = await backend.get('packs/ab.pack', { start: 0, end: 12 });
 */
export class S3Backend implements ObjectBackend {
  readonly name: string;
  readonly stats: ObjectBackendStats = emptyBackendStats();
  readonly client: S3Client;
  readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly storageClass: string | undefined;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly objectLockMode: ObjectLockMode;
  private readonly conditionalPut: 'if-none-match' | 'head';
  private readonly retry: RetryPolicy;
  /** Endpoint text for error messages, resolved lazily from the client config. */
  private endpointText: string | undefined;

  constructor(opts: S3BackendOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
      throw invalidArgument(`invalid S3 bucket name ${JSON.stringify(opts.bucket)}`, { bucket: opts.bucket });
    }
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix) assertObjectName(prefix);
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.keyPrefix = prefix ? `${prefix}/` : '';
    this.storageClass = opts.storageClass;
    this.multipartThreshold = opts.multipartThreshold ?? 16 * MiB;
    this.partSize = Math.max(5 * MiB, opts.partSize ?? 8 * MiB);
    this.objectLockMode = opts.objectLockMode ?? 'GOVERNANCE';
    this.conditionalPut = opts.conditionalPut ?? 'head';
    this.retry = opts.retry ?? {};
    this.name = `s3://${this.bucket}/${prefix}`;
    void resolveEndpoint(this.client).then((text) => (this.endpointText = text));
  }

  async put(name: string, bytes: Uint8Array, opts: PutObjectOptions = {}): Promise<void> {
    const key = this.keyOf(name);
    if (bytes.length > this.multipartThreshold) {
      await this.putMultipart(name, key, bytes, opts);
      return;
    }
    await this.putSingle(name, key, bytes, opts, false);
  }

  async putIfAbsent(name: string, bytes: Uint8Array, opts: PutObjectOptions = {}): Promise<boolean> {
    const key = this.keyOf(name);
    if (this.conditionalPut === 'head' || bytes.length > this.multipartThreshold) {
      if (await this.head(name)) return false;
      await this.put(name, bytes, opts);
      return true;
    }
    try {
      await this.putSingle(name, key, bytes, opts, true);
      return true;
    } catch (e) {
      const status = ((e as ProllyError).cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
        ?.httpStatusCode;
      if (status === 412 || status === 409) return false;
      throw e;
    }
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const key = this.keyOf(name);
    if (range) assertRange(name, range);
    try {
      const bytes = await this.request('GET', key, async (signal) => {
        this.stats.gets++;
        const out = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
          }),
          { abortSignal: signal },
        );
        if (!out.Body) return new Uint8Array(0);
        // Read the body inside the attempt so a connection dropped mid-body is retried too.
        return await out.Body.transformToByteArray();
      });
      this.stats.bytesDown += bytes.length;
      return bytes;
    } catch (e) {
      const status = statusOf(e);
      // A missing bucket is a configuration error, not an absent object.
      if (nameOf(e) === 'NoSuchKey' || (status === 404 && nameOf(e) !== 'NoSuchBucket')) return undefined;
      if (status === 416 || nameOf(e) === 'InvalidRange') return new Uint8Array(0);
      throw this.fail('GET', key, e);
    }
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    const key = this.keyOf(name);
    try {
      const out = await this.request('HEAD', key, (signal) => {
        this.stats.heads++;
        return this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      });
      return { name, size: out.ContentLength ?? 0 };
    } catch (e) {
      if (statusOf(e) === 404 || nameOf(e) === 'NotFound' || nameOf(e) === 'NoSuchKey') return undefined;
      throw this.fail('HEAD', key, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const fullPrefix = this.keyPrefix + prefix;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.request('LIST', fullPrefix, (signal) => {
          this.stats.lists++;
          return this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullPrefix, ContinuationToken: token }),
            { abortSignal: signal },
          );
        });
      } catch (e) {
        throw this.fail('LIST', fullPrefix + '*', e);
      }
      for (const obj of page.Contents ?? []) {
        if (!obj.Key?.startsWith(this.keyPrefix)) continue;
        yield { name: obj.Key.slice(this.keyPrefix.length), size: obj.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(name: string): Promise<void> {
    const key = this.keyOf(name);
    try {
      await this.request('DELETE', key, (signal) => {
        this.stats.deletes++;
        return this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      });
    } catch (e) {
      if (statusOf(e) === 404) return;
      throw this.fail('DELETE', key, e);
    }
  }

  private async putSingle(name: string, key: string, bytes: Uint8Array, opts: PutObjectOptions, ifAbsent: boolean) {
    const digest = opts.sha256 ?? sha256(bytes);
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: key,
      Body: bytes,
      ContentLength: bytes.length,
      ChecksumSHA256: base64(digest),
      ContentType: opts.contentType ?? 'application/octet-stream',
      ...this.objectSettings(opts),
      ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
    };
    try {
      await this.request('PUT', key, (signal) => {
        this.stats.puts++;
        this.stats.bytesUp += bytes.length;
        return this.client.send(new PutObjectCommand(input), { abortSignal: signal });
      }, bytes.length);
    } catch (e) {
      throw this.fail('PUT', key, e);
    }
  }

  private async putMultipart(name: string, key: string, bytes: Uint8Array, opts: PutObjectOptions): Promise<void> {
    let uploadId: string | undefined;
    try {
      const created = await this.request('PUT', key, (signal) => {
        this.stats.puts++;
        return this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            ChecksumAlgorithm: 'SHA256',
            ContentType: opts.contentType ?? 'application/octet-stream',
            ...this.objectSettings(opts),
          }),
          { abortSignal: signal },
        );
      });
      uploadId = created.UploadId;
      if (!uploadId) throw new Error('server returned no UploadId');
      const parts: { PartNumber: number; ETag: string | undefined; ChecksumSHA256: string }[] = [];
      for (let offset = 0, partNumber = 1; offset < bytes.length; offset += this.partSize, partNumber++) {
        const body = bytes.subarray(offset, Math.min(bytes.length, offset + this.partSize));
        const checksum = base64(sha256(body));
        const id = uploadId;
        const out = await this.request('PUT', `${key} part ${partNumber}`, (signal) => {
          this.stats.puts++;
          this.stats.bytesUp += body.length;
          return this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: id,
              PartNumber: partNumber,
              Body: body,
              ContentLength: body.length,
              ChecksumSHA256: checksum,
            }),
            { abortSignal: signal },
          );
        }, body.length);
        parts.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumSHA256: checksum });
      }
      const id = uploadId;
      await this.request('PUT', key, (signal) => {
        this.stats.puts++;
        return this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: id, MultipartUpload: { Parts: parts } }),
          { abortSignal: signal },
        );
      });
    } catch (e) {
      if (uploadId) {
        const id = uploadId;
        // Best effort: an abandoned upload only costs storage until a lifecycle rule expires it.
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: id }), {
            abortSignal: AbortSignal.timeout(10_000),
          })
          .catch(() => undefined);
      }
      throw this.fail('PUT (multipart)', key, e);
    }
  }

  private objectSettings(opts: PutObjectOptions): Partial<PutObjectCommandInput> {
    return {
      ...(this.storageClass ? { StorageClass: this.storageClass as StorageClass } : {}),
      ...(opts.retainUntil ? { ObjectLockMode: this.objectLockMode, ObjectLockRetainUntilDate: opts.retainUntil } : {}),
    };
  }

  private request<T>(op: string, key: string, fn: (signal: AbortSignal) => Promise<T>, bodyBytes = 0): Promise<T> {
    const base = this.retry.timeoutMs ?? 60_000;
    // Large bodies get extra time (1 s per MiB) so a slow link is not mistaken for a dead one.
    const timeoutMs = base + Math.ceil(bodyBytes / MiB) * 1000;
    return withRetry((signal) => fn(signal), {
      ...this.retry,
      timeoutMs,
      isRetryable: (e) => {
        const status = statusOf(e);
        if (status !== undefined && status < 500 && status !== 429 && status !== 408) return false;
        return isTransientError(e);
      },
    });
  }

  private keyOf(name: string): string {
    assertObjectName(name);
    return this.keyPrefix + name;
  }

  private fail(op: string, key: string, cause: unknown): ProllyError {
    const reason = describeError(cause);
    const where = this.endpointText ? ` at ${this.endpointText}` : '';
    return new ProllyError(
      ErrorCodes.BACKEND,
      `S3 ${op} s3://${this.bucket}/${key}${where} failed: ${reason}`,
      { backend: this.name, bucket: this.bucket, key, op, status: statusOf(cause), endpoint: this.endpointText },
      { cause },
    );
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(e: unknown): string | undefined {
  return (e as { name?: string } | undefined)?.name;
}

function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 3; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { name?: string; message?: string; code?: string };
    const text = [err.name && err.name !== 'Error' ? err.name : '', err.code ?? '', err.message ?? String(cur)]
      .filter(Boolean)
      .join(': ');
    if (text && !parts.some((p) => p.includes(err.message ?? '\u0000'))) parts.push(text);
  }
  return parts.join(' ← ') || 'unknown error';
}

/** The endpoint URL for error messages ('' for AWS's default endpoints). */
async function resolveEndpoint(client: S3Client): Promise<string> {
  try {
    let raw: unknown = (client.config as unknown as { endpoint?: unknown }).endpoint;
    if (typeof raw === 'function') raw = await (raw as () => Promise<unknown>)();
    if (typeof raw === 'string') return raw;
    if (raw && typeof raw === 'object' && 'hostname' in raw) {
      const e = raw as { protocol?: string; hostname?: string; port?: number };
      return `${e.protocol ?? 'https:'}//${e.hostname}${e.port ? `:${e.port}` : ''}`;
    }
  } catch {
    // No custom endpoint configured.
  }
  return '';
}
