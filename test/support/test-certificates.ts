// Certificates made at test time with the openssl CLI: a throwaway CA and
// leaf certificates it signs, for the proxy's TLS tests and benches. Nothing
// here is committed; every key lives in a temp directory of the run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  readonly dir: string;
  /** PEM of the CA certificate, for clients' `ca` option. */
  readonly certPem: string;
  /** A leaf certificate for `names` (first one is the CN); its files, and the SHA-256 fingerprint node reports. */
  issue(names: string[], options?: { file?: string }): TestCertificate;
  remove(): void;
}

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly fingerprint256: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-test-ca-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=Hyperstatic test CA',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  let serial = 0;
  return {
    dir,
    certPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    issue(names, options = {}) {
      const base = options.file ?? `leaf-${++serial}`;
      const keyFile = path.join(dir, `${base}.key`);
      const certFile = path.join(dir, `${base}.pem`);
      const ext = path.join(dir, `${base}.ext`);
      fs.writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
      openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${names[0]}`, '-out', `${base}.csr`], dir);
      const leaf = execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-days',
          '2',
          '-sha256',
          '-extfile',
          ext,
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      fs.writeFileSync(certFile, leaf);
      const fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], {
        encoding: 'utf8',
      });
      return { certFile, keyFile, fingerprint256: fingerprint.trim().split('=')[1] };
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
