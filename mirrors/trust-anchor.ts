// What a mirror's trust is anchored in (docs/trust.md): the root keys it
// pins with their threshold (MIRROR_ROOT_KEYS, MIRROR_ROOT_THRESHOLD, parsed
// and checked in common/config.ts), or, until it is upgraded, the one site
// key it pins (MIRROR_PUBLIC_KEY). A mirror with neither does not start.
import type { Config } from '../common/config';
import { keyIdOf } from '../common/trust/statements';
import type { TrustAnchor } from '../common/trust/trust-state';
import { loadPinnedKey } from './pinned-key';

export function trustAnchorOf(
  config: Pick<Config, 'mirrorRootKeys' | 'mirrorRootThreshold' | 'mirrorPublicKey'>,
): TrustAnchor {
  if (config.mirrorRootKeys.length > 0)
    return { kind: 'roots', roots: config.mirrorRootKeys, threshold: config.mirrorRootThreshold };
  return { kind: 'pinned', key: keyIdOf(loadPinnedKey(config.mirrorPublicKey)) };
}
