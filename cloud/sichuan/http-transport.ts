import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** The platform could not be reached, or did not answer in time. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly kind: 'network' | 'timeout',
  ) {
    super(message);
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The answer's `Date` header, parsed (ms), when present. */
  readonly dateMs?: number;
  readonly sentAtMs: number;
  readonly receivedAtMs: number;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Extra trusted CA (PEM); the system's CAs stay trusted and verification stays on. */
  readonly ca?: string | Buffer;
  readonly now: () => number;
}

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * POSTs forms to the platform over one keep-alive agent. node:http(s) rather than fetch, because
 * Node 20's fetch takes no CA option without the undici package, and we keep TLS verification on.
 */
export class SichuanTransport {
  private readonly root: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly secure: boolean;

  constructor(private readonly options: TransportOptions) {
    this.root = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.secure = this.root.protocol === 'https:';
    const common = { keepAlive: true, maxSockets: 4, keepAliveMsecs: 10_000 };
    this.agent = this.secure
      ? new HttpsAgent({
          ...common,
          rejectUnauthorized: true,
          // `ca` replaces the trusted set: keep Node's bundled roots beside the extra CA.
          ...(options.ca ? { ca: [...rootCertificates, options.ca.toString()] } : {}),
        })
      : new HttpAgent(common);
  }

  postForm(endpoint: string, fields: Readonly<Record<string, string>>): Promise<HttpAnswer> {
    const body = Buffer.from(new URLSearchParams(fields).toString(), 'utf8');
    return this.post(endpoint, body, 'application/x-www-form-urlencoded; charset=UTF-8');
  }

  postMultipart(endpoint: string, fields: Readonly<Record<string, string>>): Promise<HttpAnswer> {
    const boundary = `----edge-gateway-${randomBytes(12).toString('hex')}`;
    const parts: Buffer[] = [];
    for (const [name, value] of Object.entries(fields)) {
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`, 'utf8'),
        Buffer.from(value, 'utf8'),
        Buffer.from('\r\n', 'utf8'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
    return this.post(endpoint, Buffer.concat(parts), `multipart/form-data; boundary=${boundary}`);
  }

  close(): void {
    this.agent.destroy();
  }

  private post(endpoint: string, body: Buffer, contentType: string): Promise<HttpAnswer> {
    const url = new URL(endpoint, this.root);
    const send = this.secure ? httpsRequest : httpRequest;
    const sentAtMs = this.options.now();
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        agent: this.agent,
        timeout: this.options.timeoutMs,
        headers: { 'Content-Type': contentType, 'Content-Length': body.length, Accept: 'application/json' },
      });
      const deadline = setTimeout(() => {
        req.destroy(
          new TransportError(`no answer from ${endpoint} within ${this.options.timeoutMs} ms`, 'timeout'),
        );
      }, this.options.timeoutMs);
      req.on('timeout', () => {
        req.destroy(
          new TransportError(`${endpoint} timed out after ${this.options.timeoutMs} ms`, 'timeout'),
        );
      });
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(
          err instanceof TransportError ? err : new TransportError(`${endpoint}: ${err.message}`, 'network'),
        );
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy(
              new TransportError(`${endpoint} answer larger than ${MAX_ANSWER_BYTES} bytes`, 'network'),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', () => {
          // req's error handler reports it.
        });
        res.on('end', () => {
          clearTimeout(deadline);
          const date = res.headers.date ? Date.parse(res.headers.date) : Number.NaN;
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(Number.isFinite(date) ? { dateMs: date } : {}),
            sentAtMs,
            receivedAtMs: this.options.now(),
          });
        });
      });
      req.end(body);
    });
  }
}
