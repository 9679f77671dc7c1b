// `hyperstatic keys`: this site's feed signing key (docs/design.md, "Trust
// model"), the offline root keys and the statements that delegate epochs to
// site keys (docs/trust.md, "Key ceremony").
import fs from 'node:fs';
import type { Command } from 'commander';
import { initKeyPair } from '../../app/feed/signing-keys';
import { configFrom } from '../cli-support';
import * as ceremony from './keys-ceremony';
import * as origin from './keys-origin';

/** `write` is where command output goes (stdout; tests pass their own). */
export function register(
  program: Command,
  { write = (text: string) => void process.stdout.write(text) }: { write?: ceremony.Write } = {},
): void {
  const keys = program
    .command('keys')
    .description("This site's feed signing key, offline root keys, and the delegations and revocations they sign");
  keys
    .command('init')
    .description(
      "Create this site's ed25519 feed signing key pair (unless it exists) and print its key id (the public key)",
    )
    .option('--key-file <path>', 'sets FEED_SIGNING_KEY (the private key file; the public key goes next to it as .pub)')
    .option('--force', 'replace an existing key pair (it then needs a new delegation, or a new MIRROR_PUBLIC_KEY)')
    .action((flags: { keyFile?: string; force?: boolean }) => {
      const config = configFrom({ keyFile: flags.keyFile }, { keyFile: 'FEED_SIGNING_KEY' });
      const info = initKeyPair(config.feedSigningKey, { force: flags.force });
      write(
        [
          info.created
            ? 'created a new feed signing key pair'
            : 'the feed signing key pair already exists (use --force to replace it)',
          `  private key (owner-only): ${info.privatePath}`,
          `  public key file:          ${info.publicPath}`,
          `  site key id:              ${info.publicKey}`,
          '',
          'It stays on this site: never copy the private key. Root key holders delegate epochs to it:',
          `  hyperstatic keys delegate --site-key ${info.publicKey} --site NAME --epochs FROM- --expires 90d …`,
          'Mirrors that still pin a single key (no MIRROR_ROOT_KEYS) pin it instead:',
          `  MIRROR_PUBLIC_KEY=${info.publicKey}`,
          '',
        ].join('\n'),
      );
    });
  keys
    .command('show')
    .description("Print this site's key id (the public key of the feed signing key pair, base64)")
    .option('--key-file <path>', 'sets FEED_SIGNING_KEY')
    .action((flags: { keyFile?: string }) => {
      const config = configFrom({ keyFile: flags.keyFile }, { keyFile: 'FEED_SIGNING_KEY' });
      if (!fs.existsSync(config.feedSigningKey))
        throw new Error(`no key at ${config.feedSigningKey}: run \`hyperstatic keys init\` first`);
      write(`${initKeyPair(config.feedSigningKey).publicKey}\n`);
    });
  ceremony.register(keys, write);
  origin.register(keys, write);
}
