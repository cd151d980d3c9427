/**
 * A loopback HTTP proxy in front of a real server (here: an IPFS node's RPC API) that counts the
 * requests passing through, by path, and can alter response bodies — fault injection on the wire,
 * with the real server behind it.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /** Requests seen, by URL path without the query (e.g. '/api/v0/dag/import'). */
  byPath: Record<string, number>;
  total: number;
  /** When set, responses for `path` are buffered and replaced by `rewrite(body)`. */
  tamper: { path: string; rewrite: (body: Buffer) => Buffer } | undefined;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * @example const proxy = await startCountingProxy('http://127.0.0.1:5001'); create({ url: proxy.url })
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const proxy: CountingProxy = {
    url: '',
    byPath: {},
    total: 0,
    tamper: undefined,
    reset() {
      this.byPath = {};
      this.total = 0;
    },
    stop: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    proxy.byPath[path] = (proxy.byPath[path] ?? 0) + 1;
    proxy.total++;
    const upstream = request(
      { hostname: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
      (up: IncomingMessage) => {
        const tamper = proxy.tamper;
        if (tamper && tamper.path === path && up.statusCode === 200) {
          const parts: Buffer[] = [];
          up.on('data', (d: Buffer) => parts.push(d));
          up.on('end', () => {
            const body = tamper.rewrite(Buffer.concat(parts));
            const headers = { ...up.headers, 'content-length': String(body.length) };
            delete headers['transfer-encoding'];
            res.writeHead(up.statusCode ?? 200, headers);
            res.end(body);
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
