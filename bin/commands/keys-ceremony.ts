// `hyperstatic keys root init|delegate|revoke|sign|check`: the offline half of
// the key ceremony (docs/trust.md, "Key ceremony"). These run on root key
// holders' own machines and touch no database: a statement is a JSON file
// that travels from holder to holder, each adding a signature, until it
// meets the threshold and is installed on the origin (bin/commands/keys-origin.ts).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { keyFiles, loadPrivateKey, writeNew } from '../../app/feed/signing-keys';
import { loadConfig } from '../../common/config';
import { parsePublicKey } from '../../common/feed-format';
import {
  brokenSignatures,
  parseEpochRange,
  parseExpiry,
  parseRootKeyList,
  relativeTime,
  thresholdReport,
  type SignatureStatus,
} from '../../common/trust/ceremony';
import {
  describe,
  epochRange,
  isKeyId,
  keyIdOf,
  parseSigned,
  signRootStatement,
  type KeyId,
  type RootStatement,
  type Signed,
} from '../../common/trust/statements';

export type Write = (text: string) => void;

export interface RootsFlags {
  roots?: string;
  threshold?: string;
}

/** The pinned roots and threshold: from --roots/--threshold, else MIRROR_ROOT_KEYS/MIRROR_ROOT_THRESHOLD; undefined when neither names roots. */
export function rootsFrom(flags: RootsFlags): { roots: KeyId[]; threshold: number } | undefined {
  const config = loadConfig();
  let roots = config.mirrorRootKeys;
  if (flags.roots !== undefined) {
    const value = flags.roots.trim();
    const text = fs.existsSync(value) && fs.statSync(value).isFile() ? fs.readFileSync(value, 'utf8') : value;
    try {
      roots = parseRootKeyList(text);
    } catch (error) {
      throw new Error(`--roots: ${(error as Error).message}`);
    }
  }
  let threshold = config.mirrorRootThreshold;
  if (flags.threshold !== undefined) {
    if (!/^\d{1,2}$/.test(flags.threshold) || Number(flags.threshold) < 1)
      throw new Error(`--threshold must be a whole number of roots, 1 or more; got "${flags.threshold}"`);
    threshold = Number(flags.threshold);
  }
  if (roots.length === 0) {
    if (flags.threshold !== undefined) throw new Error('--threshold needs the root keys it counts: add --roots');
    return undefined;
  }
  if (threshold > roots.length)
    throw new Error(`a threshold of ${threshold} cannot be met by ${roots.length} root key(s)`);
  return { roots, threshold };
}

/** Reads a root private key; with pinned roots known, refuses a key that is not one of them (the site key, say). */
function loadRootKey(file: string, roots: readonly KeyId[] | undefined): KeyObject {
  if (!fs.existsSync(file)) throw new Error(`--root-key: no file at ${file}`);
  const key = loadPrivateKey(file);
  const id = keyIdOf(key);
  if (roots && !roots.includes(id))
    throw new Error(
      `--root-key: ${file} (key id ${id}) is not one of the pinned root keys; nothing was signed. Check --roots or MIRROR_ROOT_KEYS, and that this is a root key, not a site key`,
    );
  return key;
}

/** A site key as a key id, or a public key file (`.pub` as `keys init` writes it: PEM, or the key id). */
export function siteKeyFrom(value: string): KeyId {
  if (isKeyId(value)) return value;
  if (!fs.existsSync(value))
    throw new Error(`--site-key: "${value}" is neither a key id (as \`keys show\` prints it) nor a public key file`);
  try {
    const text = fs.readFileSync(value, 'utf8').trim();
    if (isKeyId(text)) return text;
    const key = parsePublicKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return keyIdOf(key);
  } catch {
    throw new Error(`--site-key: ${value} holds no ed25519 public key`);
  }
}

/** Reads and checks a statement file; every signature on it must verify over what it says. */
export function readStatementFile(file: string): Signed {
  if (!fs.existsSync(file)) throw new Error(`no statement file at ${file}`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} is not JSON: a statement file is what \`keys delegate\` or \`keys revoke\` wrote`);
  }
  const signed = parseSigned(value);
  const broken = brokenSignatures(signed);
  if (broken.length > 0)
    throw new Error(
      `${file}: the signature by ${broken.join(', ')} does not verify over this ${signed.statement.type}: the file was changed after it was signed. Start again from the statement as made`,
    );
  return signed;
}

function statementJson(signed: Signed): string {
  return `${JSON.stringify(signed, null, 2)}\n`;
}

function writeStatementFile(file: string, signed: Signed): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (!writeNew(file, statementJson(signed), 0o644))
    throw new Error(`--out: ${file} exists; refusing to overwrite it (choose another name or move it away)`);
}

/** The lines `keys check` and `keys sign` print: what the statement says, in full. */
export function statementLines(statement: RootStatement, now: number): string[] {
  const time = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  if (statement.type === 'revocation')
    return [
      `revocation (version ${statement.version}): site key ${statement.key} may never sign again`,
      `  reason:   ${statement.reason}`,
      `  issued:   ${time(statement.issued)}`,
    ];
  const to = statement.epochs.to;
  return [
    `delegation (version ${statement.version}): site key ${statement.key} may sign for "${statement.site}"`,
    `  epochs:   ${epochRange(statement.epochs)}${to === null ? ` (${statement.epochs.from} and every later epoch)` : ''}`,
    `  issued:   ${time(statement.issued)}`,
    `  expires:  ${time(statement.expires)} (${statement.expires <= now ? 'EXPIRED ' : ''}${relativeTime(statement.expires, now)})`,
  ];
}

const STATUS_TEXT: Record<SignatureStatus, string> = {
  valid: 'valid',
  'bad-signature': 'BAD SIGNATURE',
  'unknown-key': 'not a pinned root (ignored)',
  duplicate: 'same root again (counted once)',
};

export function register(keys: Command, write: Write): void {
  registerRootInit(keys, write);
  registerDelegate(keys, write);
  registerRevoke(keys, write);
  registerSign(keys, write);
  registerCheck(keys, write);
}

function registerRootInit(keys: Command, write: Write): void {
  keys
    .command('root')
    .description('Root keys: kept offline by separate people; k of n of them sign delegations and revocations')
    .command('init')
    .description("Create a root key pair on this (operator's, offline) machine; prints its key id for MIRROR_ROOT_KEYS")
    .requiredOption('--out <file>', 'the private key file to create (mode 600); the key id goes next to it as .pub')
    .action((flags: { out: string }) => {
      const files = keyFiles(path.resolve(flags.out));
      for (const file of [files.privatePath, files.publicPath])
        if (fs.existsSync(file))
          throw new Error(`${file} exists; refusing to overwrite a root key (a lost root key cannot be recreated)`);
      fs.mkdirSync(path.dirname(files.privatePath), { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ed25519');
      if (!writeNew(files.privatePath, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600))
        throw new Error(`${files.privatePath} exists; refusing to overwrite a root key`);
      const id = keyIdOf(privateKey);
      writeNew(files.publicPath, `${id}\n`, 0o644);
      write(
        [
          'created a root key pair',
          `  private key (owner-only): ${files.privatePath}`,
          `  key id file:              ${files.publicPath}`,
          `  root key id:              ${id}`,
          '',
          'Back up the private key file now, to offline media (two copies, kept apart), and keep it off',
          'every server: not on an origin, a mirror or a shared drive. It signs only on your machine.',
          'Give the key id (not the private key) to whoever configures mirrors: it goes into MIRROR_ROOT_KEYS.',
          '',
        ].join('\n'),
      );
    });
}

function registerDelegate(keys: Command, write: Write): void {
  keys
    .command('delegate')
    .description(
      'Make a delegation: site key KEY may sign the feed at epochs FROM-[TO] until an expiry; signed by one root, written to a file',
    )
    .requiredOption('--site-key <keyid-or-file>', 'the site key: its id (`keys show` on that site) or its .pub file')
    .requiredOption('--site <name>', 'a name for the site holding the key (primary, standby); for people')
    .requiredOption('--epochs <range>', 'FROM- (open-ended), FROM-TO (inclusive) or one epoch')
    .requiredOption('--expires <when>', 'a duration (90d, 12h, 2w, 1y) or a date (2027-01-31, UTC)')
    .requiredOption('--root-key <file>', 'your root private key file')
    .requiredOption('--out <file>', 'the statement file to create')
    .option('--roots <keyids-or-file>', 'the pinned root key ids (default MIRROR_ROOT_KEYS): refuses another key')
    .action(
      (flags: {
        siteKey: string;
        site: string;
        epochs: string;
        expires: string;
        rootKey: string;
        out: string;
        roots?: string;
      }) => {
        const now = Date.now();
        const key = siteKeyFrom(flags.siteKey);
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(flags.site))
          throw new Error(`--site: 1-64 letters, digits, dots, dashes or underscores; got "${flags.site}"`);
        const epochs = parseEpochRange(flags.epochs);
        const expires = parseExpiry(flags.expires, now);
        const pinned = rootsFrom({ roots: flags.roots });
        const root = loadRootKey(flags.rootKey, pinned?.roots);
        if (keyIdOf(root) === key)
          throw new Error('--site-key is the root key itself: a root key never signs the feed');
        const statement = {
          type: 'delegation',
          version: 1,
          site: flags.site,
          key,
          epochs,
          issued: now,
          expires,
        } as const;
        const signed = signRootStatement({ statement, signatures: [] }, root);
        writeStatementFile(flags.out, signed);
        write(made(flags.out, signed, now));
      },
    );
}

function registerRevoke(keys: Command, write: Write): void {
  keys
    .command('revoke')
    .description(
      'Make a revocation: site key KEY may never sign again (permanent); signed by one root, written to a file',
    )
    .requiredOption('--site-key <keyid-or-file>', 'the site key to revoke: its id or its .pub file')
    .requiredOption('--reason <text>', 'why (kept with the statement; at most 500 characters)')
    .requiredOption('--root-key <file>', 'your root private key file')
    .requiredOption('--out <file>', 'the statement file to create')
    .option('--roots <keyids-or-file>', 'the pinned root key ids (default MIRROR_ROOT_KEYS): refuses another key')
    .action((flags: { siteKey: string; reason: string; rootKey: string; out: string; roots?: string }) => {
      const now = Date.now();
      const key = siteKeyFrom(flags.siteKey);
      const reason = flags.reason.trim();
      if (reason === '' || reason.length > 500) throw new Error('--reason: say why, in 1-500 characters');
      const root = loadRootKey(flags.rootKey, rootsFrom({ roots: flags.roots })?.roots);
      const statement = { type: 'revocation', version: 1, key, issued: now, reason } as const;
      const signed = signRootStatement({ statement, signatures: [] }, root);
      writeStatementFile(flags.out, signed);
      write(made(flags.out, signed, now));
    });
}

function made(file: string, signed: Signed, now: number): string {
  return [
    `wrote ${file}, signed by root ${signed.signatures[0].key}:`,
    ...statementLines(signed.statement, now),
    '',
    'Next: each other root holder needed for the threshold runs, on their own machine,',
    `  hyperstatic keys sign ${path.basename(file)} --root-key THEIR-ROOT.key`,
    `then anyone checks it (hyperstatic keys check ${path.basename(file)} --roots ROOT,ROOT,… --threshold K)`,
    `and the origin's operator installs it (hyperstatic keys install ${path.basename(file)}).`,
    '',
  ].join('\n');
}

function registerSign(keys: Command, write: Write): void {
  keys
    .command('sign <file>')
    .description("Add your root key's signature to a statement file, in place (k-of-n: the file travels)")
    .requiredOption('--root-key <file>', 'your root private key file')
    .option('--roots <keyids-or-file>', 'the pinned root key ids (default MIRROR_ROOT_KEYS): refuses another key')
    .option('--threshold <k>', 'how many roots must sign (default MIRROR_ROOT_THRESHOLD): to say what is missing')
    .action((file: string, flags: { rootKey: string; roots?: string; threshold?: string }) => {
      const signed = readStatementFile(file);
      const pinned = rootsFrom(flags);
      const root = loadRootKey(flags.rootKey, pinned?.roots);
      const id = keyIdOf(root);
      const lines = statementLines(signed.statement, Date.now());
      if (signed.signatures.some((s) => s.key === id)) {
        write([`${file} already carries the signature of root ${id}; nothing changed`, ...lines, ''].join('\n'));
        return;
      }
      const updated = signRootStatement(signed, root);
      // Written beside and renamed over, so an interrupted run leaves the old file whole.
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, statementJson(updated), { mode: fs.statSync(file).mode & 0o777 });
      fs.renameSync(temp, file);
      const count = pinned
        ? `; ${thresholdReport(updated, new Set(pinned.roots), pinned.threshold).valid} of ${pinned.threshold} needed`
        : '';
      write(
        [`signed ${file} with root ${id}: ${updated.signatures.length} signature(s)${count}`, ...lines, ''].join('\n'),
      );
    });
}

function registerCheck(keys: Command, write: Write): void {
  keys
    .command('check <file>')
    .description(
      'Say what a statement file says and whether it meets the threshold of the pinned roots; exit 1 if not (or if it has expired)',
    )
    .option('--roots <keyids-or-file>', 'the pinned root key ids (default MIRROR_ROOT_KEYS)')
    .option('--threshold <k>', 'how many of them must sign (default MIRROR_ROOT_THRESHOLD)')
    .action((file: string, flags: RootsFlags) => {
      const now = Date.now();
      let signed: Signed;
      try {
        signed = parseSigned(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch (error) {
        throw new Error(`${file}: ${fs.existsSync(file) ? (error as Error).message : 'no such file'}`);
      }
      const pinned = rootsFrom(flags);
      if (!pinned) throw new Error('name the root keys to check against: --roots KEYID,KEYID,… (or MIRROR_ROOT_KEYS)');
      const report = thresholdReport(signed, new Set(pinned.roots), pinned.threshold);
      const st = signed.statement;
      const expired = st.type === 'delegation' && st.expires <= now;
      write(
        [
          ...statementLines(st, now),
          `signatures (${pinned.roots.length} root key(s) pinned, ${pinned.threshold} needed):`,
          ...(report.signatures.length === 0 ? ['  none'] : []),
          ...report.signatures.map((s) => `  ${s.key}  ${STATUS_TEXT[s.status]}`),
          `result: ${report.met ? 'meets' : 'DOES NOT MEET'} the threshold (${report.valid} of ${pinned.threshold})${expired ? ', but it has EXPIRED' : ''}`,
          '',
        ].join('\n'),
      );
      if (!report.met)
        throw new Error(`${describe(st)}: ${report.valid} valid root signature(s), ${report.threshold} needed`);
      if (expired) throw new Error(`${describe(st)} has expired; make a new one`);
    });
}
