// The proxy's TLS certificates: read from files (PROXY_TLS_CERT and
// PROXY_TLS_KEY, or a certbot-style PROXY_TLS_CERT_DIR), each serving the
// names in its subjectAltName by SNI, the first one the default. Loading is
// all or nothing: a missing file, a key that does not match its
// certificate or a directory without a pair fails with a ConfigError naming
// the variable, so at start the proxy does not come up, and on reload
// (SIGHUP) the set in use stays (docs/cache-proxy.md, "TLS and HTTP/2").
import fs from 'node:fs';
import path from 'node:path';
import tls, { type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../common/config';

/**
 * TLS 1.2 with forward-secret AEAD suites only, and TLS 1.3's three (Mozilla's
 * "intermediate" profile). Node's default list still offers CBC suites in
 * TLS 1.2, which RFC 9113 §9.2.2 forbids under HTTP/2 (a client that picks one
 * must fail the connection with INADEQUATE_SECURITY).
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_MIN_VERSION = 'TLSv1.2';

export interface CertificateSource {
  /** Certificate chain files (PROXY_TLS_CERT), paired by position with keyFiles. */
  readonly certFiles: readonly string[];
  readonly keyFiles: readonly string[];
  /** PROXY_TLS_CERT_DIR: subdirectories holding fullchain.pem and privkey.pem; empty means none. */
  readonly dir: string;
}

export interface LoadedCertificate {
  /** DNS names it serves (subjectAltName, else the subject's CN); may hold `*.example.org`. */
  readonly names: readonly string[];
  readonly certFile: string;
  readonly notAfter: string;
  readonly fingerprint256: string;
  /** PEM text, kept for the listener's default context. */
  readonly options: SecureContextOptions;
  readonly context: SecureContext;
}

export interface CertificateSet {
  readonly certificates: readonly LoadedCertificate[];
  /** The one a client without SNI, or with a name nothing serves, gets. */
  readonly fallback: LoadedCertificate;
  /** The context for an SNI name: exact name first, then a wildcard one label up (RFC 6125 §6.4.3). */
  contextFor(servername: string): SecureContext;
}

/** Reads every configured pair; throws a ConfigError naming the variable (and file) at the first problem. */
export function loadCertificates(source: CertificateSource): CertificateSet {
  const pairs: { cert: string; key: string; certVariable: string; keyVariable: string }[] = source.certFiles.map(
    (cert, i) => ({ cert, key: source.keyFiles[i], certVariable: 'PROXY_TLS_CERT', keyVariable: 'PROXY_TLS_KEY' }),
  );
  if (source.dir !== '') pairs.push(...pairsInDirectory(source.dir));
  if (pairs.length === 0) throw new ConfigError('PROXY_TLS_CERT', 'names no certificate (nor does PROXY_TLS_CERT_DIR)');
  const certificates = pairs.map((pair) => loadPair(pair.cert, pair.key, pair.certVariable, pair.keyVariable));
  const byName = new Map<string, SecureContext>();
  // The first certificate that names a host wins, as listed.
  for (const certificate of certificates)
    for (const name of certificate.names) if (!byName.has(name)) byName.set(name, certificate.context);
  const fallback = certificates[0];
  return {
    certificates,
    fallback,
    contextFor(servername) {
      const name = servername.toLowerCase();
      const exact = byName.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      return (dot > 0 ? byName.get(`*${name.slice(dot)}`) : undefined) ?? fallback.context;
    },
  };
}

/** The options every secure context and the listener share: the protocol floor and the cipher list. */
export function secureOptions(certificate: LoadedCertificate): SecureContextOptions {
  return { ...certificate.options, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS };
}

function pairsInDirectory(dir: string) {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new ConfigError('PROXY_TLS_CERT_DIR', `cannot read ${dir}: ${(error as Error).message}`);
  }
  // certbot's live/ directory is made of symlinks to directories; its README file is skipped, and so are
  // hidden directories, where a deploy hook prepares the next pair (docs/operations.md, "TLS certificates").
  const subdirs = entries
    .filter((entry) => !entry.name.startsWith('.'))
    .filter((entry) => entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(path.join(dir, entry.name))))
    .map((entry) => entry.name)
    .sort();
  if (subdirs.length === 0)
    throw new ConfigError('PROXY_TLS_CERT_DIR', `${dir} holds no subdirectory with fullchain.pem and privkey.pem`);
  return subdirs.map((name) => ({
    cert: path.join(dir, name, 'fullchain.pem'),
    key: path.join(dir, name, 'privkey.pem'),
    certVariable: 'PROXY_TLS_CERT_DIR',
    keyVariable: 'PROXY_TLS_CERT_DIR',
  }));
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function loadPair(certFile: string, keyFile: string, certVariable: string, keyVariable: string): LoadedCertificate {
  const cert = readPem(certFile, certVariable, 'CERTIFICATE');
  const key = readPem(keyFile, keyVariable, 'PRIVATE KEY');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(certVariable, `${certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
  const options: SecureContextOptions = { cert, key };
  let context: SecureContext;
  try {
    context = tls.createSecureContext({ ...options, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS });
  } catch (error) {
    // OpenSSL's "key values mismatch" is the usual one: a renewed certificate with last month's key.
    throw new ConfigError(
      keyVariable,
      `${keyFile} cannot serve ${certFile}: ${(error as Error).message.replace(/^error:\S+:/, '')}`,
    );
  }
  const names = dnsNames(x509);
  if (names.length === 0) throw new ConfigError(certVariable, `${certFile} names no DNS host (subjectAltName or CN)`);
  return { names, certFile, notAfter: x509.validTo, fingerprint256: x509.fingerprint256, options, context };
}

function readPem(file: string, variable: string, label: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(variable, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text.includes(`-----BEGIN `) || !text.includes(label))
    throw new ConfigError(variable, `${file} holds no PEM ${label.toLowerCase()}`);
  return text;
}

/** DNS names from subjectAltName (RFC 6125 §6.4.4: the CN only when there is none), lower-cased. */
function dnsNames(x509: X509Certificate): string[] {
  const alt = x509.subjectAltName;
  if (alt) {
    return alt
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.startsWith('DNS:'))
      .map((item) => item.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}
