// The origin's feed public key this mirror pins (MIRROR_PUBLIC_KEY): inline
// (base64 or PEM) or a file. Without it a mirror would have to trust
// whatever the network hands it, so a missing key stops the mirror at start.
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../common/config';
import { parsePublicKey } from '../common/feed-format';

export function loadPinnedKey(value: string): KeyObject {
  const inline = value.trim().startsWith('-----BEGIN') || /^[A-Za-z0-9+/]{42,}={0,2}$/.test(value.trim());
  let text = value;
  if (!inline) {
    try {
      text = fs.readFileSync(value, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        'MIRROR_PUBLIC_KEY',
        code === 'ENOENT'
          ? `no key file at ${value}: set MIRROR_PUBLIC_KEY to the origin's public key (printed by \`hyperstatic keys init\` on the origin)`
          : `cannot read ${value}: ${(error as Error).message}`,
      );
    }
  }
  try {
    const key = parsePublicKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key');
    return key;
  } catch (error) {
    throw new ConfigError(
      'MIRROR_PUBLIC_KEY',
      `is not an ed25519 public key (base64, PEM, or a file holding one): ${(error as Error).message}`,
    );
  }
}
