// `hyperstatic keys`: the origin's feed signing key pair (docs/design.md, "Trust model").
import fs from 'node:fs';
import type { Command } from 'commander';
import { initKeyPair } from '../../app/feed/signing-keys';
import { configFrom } from '../cli-support';

export function register(program: Command): void {
  const keys = program.command('keys').description("The origin's change-feed signing key pair");
  keys
    .command('init')
    .description(
      'Create the ed25519 key pair that signs the change feed (unless it exists) and print the public key mirrors must pin',
    )
    .option('--key-file <path>', 'sets FEED_SIGNING_KEY (the private key file; the public key goes next to it as .pub)')
    .option('--force', 'replace an existing key pair (every mirror must then pin the new public key)')
    .action((flags: { keyFile?: string; force?: boolean }) => {
      const config = configFrom({ keyFile: flags.keyFile }, { keyFile: 'FEED_SIGNING_KEY' });
      const info = initKeyPair(config.feedSigningKey, { force: flags.force });
      process.stdout.write(
        [
          info.created
            ? 'created a new feed signing key pair'
            : 'the feed signing key pair already exists (use --force to replace it)',
          `  private key (owner-only): ${info.privatePath}`,
          `  public key file:          ${info.publicPath}`,
          `  public key:               ${info.publicKey}`,
          '',
          'On every mirror, pin it:',
          `  MIRROR_PUBLIC_KEY=${info.publicKey}`,
          '',
        ].join('\n'),
      );
    });
  keys
    .command('show')
    .description('Print the public key of the existing feed signing key pair')
    .option('--key-file <path>', 'sets FEED_SIGNING_KEY')
    .action((flags: { keyFile?: string }) => {
      const config = configFrom({ keyFile: flags.keyFile }, { keyFile: 'FEED_SIGNING_KEY' });
      if (!fs.existsSync(config.feedSigningKey))
        throw new Error(`no key at ${config.feedSigningKey}: run \`hyperstatic keys init\` first`);
      process.stdout.write(`${initKeyPair(config.feedSigningKey).publicKey}\n`);
    });
}
