// What a mirror's trust is anchored in (docs/trust.md): the root keys it
// pins with their threshold (MIRROR_ROOT_KEYS, MIRROR_ROOT_THRESHOLD), or,
// until it is upgraded, the one site key it pins (MIRROR_PUBLIC_KEY). A
// mirror with neither does not start.
import fs from 'node:fs';
import { ConfigError, type Config } from '../common/config';
import { isKeyId, keyIdOf, type KeyId } from '../common/trust/statements';
import type { TrustAnchor } from '../common/trust/trust-state';
import { loadPinnedKey } from './pinned-key';

/** Root key ids from a comma-separated list, or from a file holding one per line (`#` comments allowed). */
export function parseRootKeys(value: string): KeyId[] {
  const trimmed = value.trim();
  let text = trimmed;
  if (!trimmed.split(',').every((k) => isKeyId(k.trim()))) {
    try {
      text = fs.readFileSync(trimmed, 'utf8');
    } catch {
      throw new ConfigError(
        'MIRROR_ROOT_KEYS',
        'is neither a comma-separated list of root key ids (base64 ed25519 public keys) nor a readable file of them',
      );
    }
  }
  const keys = text
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
  const bad = keys.find((k) => !isKeyId(k as unknown));
  if (bad !== undefined)
    throw new ConfigError('MIRROR_ROOT_KEYS', `${JSON.stringify(bad.slice(0, 60))} is not a base64 ed25519 public key`);
  if (keys.length === 0) throw new ConfigError('MIRROR_ROOT_KEYS', 'names no root key');
  return [...new Set(keys)];
}

export function trustAnchorOf(
  config: Pick<Config, 'mirrorRootKeys' | 'mirrorRootThreshold' | 'mirrorPublicKey'>,
): TrustAnchor {
  if (config.mirrorRootKeys.trim() !== '') {
    const roots = parseRootKeys(config.mirrorRootKeys);
    if (config.mirrorRootThreshold > roots.length)
      throw new ConfigError(
        'MIRROR_ROOT_THRESHOLD',
        `is ${config.mirrorRootThreshold}, but MIRROR_ROOT_KEYS names only ${roots.length} distinct key(s)`,
      );
    return { kind: 'roots', roots, threshold: config.mirrorRootThreshold };
  }
  return { kind: 'pinned', key: keyIdOf(loadPinnedKey(config.mirrorPublicKey)) };
}
