// The origin's feed signing key pair (docs/design.md, "Trust model"): an ed25519 private key
// readable only by its owner, and the public key mirrors pin. Created by
// `hyperstatic keys init`, or on the origin's first start so the quick start
// needs no extra step.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { publicKeyBase64 } from '../../common/feed-format';

export interface KeyFiles {
  privatePath: string;
  publicPath: string;
}

/** `feed-ed25519.key` → `feed-ed25519.pub`; any other name gets `.pub` appended. */
export function keyFiles(privatePath: string): KeyFiles {
  const publicPath = privatePath.endsWith('.key')
    ? `${privatePath.slice(0, -'.key'.length)}.pub`
    : `${privatePath}.pub`;
  return { privatePath, publicPath };
}

export interface KeyPairInfo extends KeyFiles {
  created: boolean;
  /** The raw public key, base64: what goes into a mirror's MIRROR_PUBLIC_KEY. */
  publicKey: string;
}

/**
 * Writes a file that must not exist yet, atomically (temp file + link), so
 * two processes starting at once never read a half-written key.
 */
export function writeNew(file: string, content: string, mode: number): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, content, { mode });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Creates the key pair unless the private key exists (or `force`); returns where it is and the public key. */
export function initKeyPair(privatePath: string, options: { force?: boolean } = {}): KeyPairInfo {
  const files = keyFiles(path.resolve(privatePath));
  fs.mkdirSync(path.dirname(files.privatePath), { recursive: true, mode: 0o700 });
  if (options.force) fs.rmSync(files.privatePath, { force: true });
  let created = false;
  if (!fs.existsSync(files.privatePath)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    created = writeNew(files.privatePath, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  }
  const privateKey = loadPrivateKey(files.privatePath);
  const publicKey = createPublicKey(privateKey);
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  // The public half is always rewritten from the private key, so the two cannot disagree.
  if (!fs.existsSync(files.publicPath) || fs.readFileSync(files.publicPath, 'utf8') !== pem) {
    const temp = `${files.publicPath}.${process.pid}.tmp`;
    fs.writeFileSync(temp, pem, { mode: 0o644 });
    fs.renameSync(temp, files.publicPath);
  }
  return { ...files, created, publicKey: publicKeyBase64(publicKey) };
}

/** Reads the private key; refuses one that other users can read (it would let them forge the feed). */
export function loadPrivateKey(privatePath: string): KeyObject {
  const stat = fs.statSync(privatePath);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new Error(
      `${privatePath} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  const key = createPrivateKey(fs.readFileSync(privatePath));
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${privatePath} is not an ed25519 private key`);
  return key;
}

/** The origin's signing key, created on first start (and announced, so an operator can pin it on mirrors). */
export function ensureSigningKey(privatePath: string, logger: { info(obj: object, msg: string): void }): KeyObject {
  const info = initKeyPair(privatePath);
  if (info.created)
    logger.info(
      { privateKey: info.privatePath, publicKeyFile: info.publicPath, publicKey: info.publicKey },
      'created the feed signing key pair; pin the public key on mirrors (MIRROR_PUBLIC_KEY)',
    );
  return loadPrivateKey(info.privatePath);
}
