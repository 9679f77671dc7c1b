// Clients for the proxy's TLS tests: the certificate a new handshake gets,
// raw HTTP/1.1 over TLS, HTTP/2 requests on one session, and a logger whose
// lines a test reads.
import http2 from 'node:http2';
import tls from 'node:tls';
import pino from 'pino';
import type { TestCa, TestCertificate } from '../support/test-certificates';

/** The certificate a new handshake gets for `servername` (none: no SNI), by SHA-256 fingerprint. */
export function fingerprintFor(tlsUrl: string, ca: TestCa, servername?: string): Promise<string> {
  const { hostname, port } = new URL(tlsUrl);
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: hostname, port: Number(port), servername, ca: ca.certPem, rejectUnauthorized: false },
      () => {
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
        socket.end();
        resolve(fingerprint);
      },
    );
    socket.on('error', reject);
  });
}

/**
 * Whether each of `n` new connections resumed the TLS session of a first
 * one, with the ticket that first connection was given (TLS 1.3 sends it
 * after the handshake).
 */
export async function resumptions(tlsUrl: string, ca: TestCa, servername: string, n: number): Promise<boolean[]> {
  const { hostname, port } = new URL(tlsUrl);
  const options = { host: hostname, port: Number(port), servername, ca: ca.certPem };
  const ticket = await new Promise<Buffer>((resolve, reject) => {
    const socket = tls.connect(options);
    socket.once('session', (session: Buffer) => {
      resolve(session);
      socket.end();
    });
    socket.on('error', reject);
  });
  const reused: boolean[] = [];
  for (let i = 0; i < n; i++)
    reused.push(
      await new Promise<boolean>((resolve, reject) => {
        const socket = tls.connect({ ...options, session: ticket }, () => {
          resolve(socket.isSessionReused());
          socket.end();
        });
        socket.on('error', reject);
      }),
    );
  return reused;
}

/** Sends raw HTTP/1.1 over TLS and returns what came back until the server closed (send `connection: close` last). */
export function rawTls(tlsUrl: string, ca: TestCa, servername: string, text: string): Promise<string> {
  const { hostname, port } = new URL(tlsUrl);
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: hostname, port: Number(port), servername, ca: ca.certPem, ALPNProtocols: ['http/1.1'] },
      () => socket.write(text),
    );
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let replyHeaders: http2.IncomingHttpHeaders = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (replyHeaders = h));
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status: Number(replyHeaders[':status']), headers: replyHeaders, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

export function h2Connect(tlsUrl: string, ca: TestCa, servername: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(tlsUrl, { ca: ca.certPem, servername });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export function tlsEnv(cert: TestCertificate, extra: Record<string, string> = {}): Record<string, string> {
  return { PROXY_TLS_PORT: '0', PROXY_TLS_CERT: cert.certFile, PROXY_TLS_KEY: cert.keyFile, ...extra };
}

/** A logger whose lines the test reads. */
export function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), lines };
}
