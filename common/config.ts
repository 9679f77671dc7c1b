// Configuration: defaults < environment (< CLI flags, applied by the CLI as
// environment overrides), validated once, then frozen. Every variable has a
// default that works for the embedded quick start; a bad value fails fast
// with a message naming the variable.
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseNodeList } from './db/database';
import { parseRootKeyList } from './trust/ceremony';

export class ConfigError extends Error {
  readonly code = 'HS_CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string, name: string) => T;

interface VariableSpec<T> {
  readonly name: string;
  readonly defaultValue: string;
  readonly description: string;
  readonly parse: Parser<T>;
}

const variables: VariableSpec<unknown>[] = [];

function variable<T>(name: string, defaultValue: string, description: string, parse: Parser<T>): VariableSpec<T> {
  const spec = { name, defaultValue, description, parse };
  variables.push(spec as VariableSpec<unknown>);
  return spec;
}

const text: Parser<string> = (raw) => raw;

function integer(min: number, max: number): Parser<number> {
  return (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

function decimal(min: number, max: number): Parser<number> {
  return (raw, name) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value))
      throw new ConfigError(name, `expected a number, got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

const port = integer(0, 65535);

/** An IANA time zone name Intl knows (the editor's zone math is Intl's, never a fixed offset). */
const timeZone: Parser<string> = (raw, name) => {
  try {
    // Validated by Intl, kept as written: ICU would rename Asia/Kolkata to Asia/Calcutta.
    new Intl.DateTimeFormat('en', { timeZone: raw.trim() });
    return raw.trim();
  } catch {
    throw new ConfigError(name, `unknown time zone ${JSON.stringify(raw)} (use an IANA name such as Europe/Berlin)`);
  }
};

const languageCode: Parser<string> = (raw, name) => {
  if (!/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/.test(raw.trim()))
    throw new ConfigError(name, `expected a language code such as en or zh-cn, got ${JSON.stringify(raw)}`);
  return raw.trim();
};

/** express's 'trust proxy': false, a hop count, or a list of addresses, CIDR ranges and named ranges. */
const trustProxy: Parser<false | number | string[]> = (raw, name) => {
  const value = raw.trim();
  if (value === '' || /^(false|no|off)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) return integer(1, 100)(value, name);
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const ip = isIP(address);
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(entry);
    const cidrOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (ip === 6 ? 128 : 32));
    if (!named && (!ip || !cidrOk || extra !== undefined))
      throw new ConfigError(
        name,
        `expected a hop count, or addresses, CIDR ranges or loopback/linklocal/uniquelocal separated by commas; ${JSON.stringify(entry)} is none of these`,
      );
  }
  return entries;
};

/** Empty: the listener is off. */
const optionalPort: Parser<number | undefined> = (raw, name) => (raw.trim() === '' ? undefined : port(raw, name));

/** Empty: disabled. A short token is refused rather than guessed at. */
const optionalToken: Parser<string> = (raw, name) => {
  if (raw === '') return '';
  if (raw.length < 16 || /\s/.test(raw))
    throw new ConfigError(name, 'use at least 16 characters and no spaces (e.g. `openssl rand -hex 32`)');
  return raw;
};

/**
 * CSP source expressions (CSP 3 §2.3.1) for frame-ancestors: the keywords
 * none and self (quoted or not: an env file's quotes are its own) or http(s)
 * origins, never a directive separator.
 */
const frameAncestors: Parser<string> = (raw, name) => {
  const sources = raw
    .trim()
    .split(/\s+/)
    .map((s) => (/^'?(none|self)'?$/i.test(s) ? `'${s.replace(/'/g, '').toLowerCase()}'` : s));
  const ok = (s: string) => s === "'none'" || s === "'self'" || /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d+)?$/i.test(s);
  if (raw.trim() === '' || !sources.every(ok) || (sources.includes("'none'") && sources.length > 1))
    throw new ConfigError(
      name,
      `expected none, or self and/or http(s) origins separated by spaces, got ${JSON.stringify(raw)}`,
    );
  return sources.join(' ');
};

/** Comma-separated file paths; empty: none. Whether they can be read is checked where they are loaded. */
const fileList: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const url: Parser<string> = (raw, name) => {
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
    return raw.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(raw)}`);
  }
};

/** A file path, or empty for none; refused at start when it cannot be read. */
const optionalFile: Parser<string> = (raw, name) => {
  if (raw.trim() === '') return '';
  try {
    fs.accessSync(raw, fs.constants.R_OK);
  } catch {
    throw new ConfigError(name, `cannot read ${JSON.stringify(raw)}`);
  }
  return raw;
};

const urlList: Parser<string[]> = (raw, name) => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ConfigError(name, 'expected at least one URL');
  return items.map((item) => url(item, name));
};

/** Empty, or an http(s) URL without a trailing slash (a mirror's own address). */
const optionalHttpUrl: Parser<string> = (raw, name) => (raw.trim() === '' ? '' : url(raw.trim(), name));

/** Empty, or the http(s) URL of an onion service (Tor Browser's Onion-Location). */
const onionUrl: Parser<string> = (raw, name) => {
  const value = optionalHttpUrl(raw, name);
  if (value !== '' && !/^[a-z2-7]{56}\.onion$/.test(new URL(value).hostname.split('.').slice(-2).join('.')))
    throw new ConfigError(
      name,
      `expected the URL of a v3 onion service (56 characters + .onion), got ${JSON.stringify(raw)}`,
    );
  return value;
};

const optionalUrl: Parser<string | undefined> = (raw, name) => {
  if (raw.trim() === '') return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error('protocol');
    return raw;
  } catch {
    throw new ConfigError(name, `expected a redis:// URL, got ${JSON.stringify(raw)}`);
  }
};

/** host:port,host:port (IPv6 hosts in brackets), for REDIS_SENTINELS. */
const hostPortList: Parser<{ host: string; port: number }[]> = (raw, name) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/i.exec(item);
      const portNumber = match ? Number(match[2]) : 0;
      if (!match || portNumber < 1 || portNumber > 65535)
        throw new ConfigError(name, `expected host:port items, e.g. 10.0.0.1:26379, got ${JSON.stringify(item)}`);
      return { host: match[1].replace(/^\[|\]$/g, ''), port: portNumber };
    });

const databaseUrl: Parser<string> = (raw, name) => {
  if (raw.startsWith('sqlite:')) {
    if (raw.length <= 'sqlite:'.length)
      throw new ConfigError(name, 'sqlite: needs a file path, e.g. sqlite:data/hyperstatic.sqlite');
    return raw;
  }
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new Error('protocol');
    if (parsed.pathname.length <= 1)
      throw new ConfigError(name, 'the URL must name a database, e.g. mysql://user:pass@host:3306/hyperstatic');
    return raw;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(name, `expected sqlite:PATH or mysql://user:pass@host:port/db, got ${JSON.stringify(raw)}`);
  }
};

const logLevel: Parser<string> = (raw, name) => {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(raw))
    throw new ConfigError(name, `expected one of ${levels.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw;
};

const boolean: Parser<boolean> = (raw, name) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
};

/** Empty: the caller's default (it differs between roles). */
const optionalBoolean: Parser<boolean | undefined> = (raw, name) =>
  raw.trim() === '' ? undefined : boolean(raw, name);

/** Root key ids, inline (comma-separated) or in a file (one per line, `#` comments), checked here so a typo stops the mirror at start. */
const rootKeys: Parser<string[]> = (raw, name) => {
  const value = raw.trim();
  if (value === '') return [];
  let text = value;
  let source = '';
  if (fs.existsSync(value) && fs.statSync(value).isFile()) {
    text = fs.readFileSync(value, 'utf8');
    source = ` (in ${value})`;
  }
  try {
    const keys = parseRootKeyList(text);
    if (keys.length === 0) throw new Error('lists no root key');
    return keys;
  } catch (error) {
    throw new ConfigError(name, `${(error as Error).message}${source}`);
  }
};

const spec = {
  dataDir: variable('DATA_DIR', 'data', 'Folder for the embedded database, blobs and mirror copies', text),
  databaseUrl: variable(
    'DATABASE_URL',
    '',
    'sqlite:PATH (embedded) or mysql://user:pass@host:port/db; empty means sqlite:$DATA_DIR/hyperstatic.sqlite',
    (raw, name) => (raw === '' ? '' : databaseUrl(raw, name)),
  ),
  databaseNodes: variable(
    'DATABASE_NODES',
    '',
    'Replicated cluster: name=mysql://user:pass@host:port/db,... (app-user URLs; the primary is found from the topology record); empty means DATABASE_URL alone',
    (raw, name) => {
      try {
        return parseNodeList(raw);
      } catch (error) {
        throw new ConfigError(name, (error as Error).message);
      }
    },
  ),
  databaseAdminUser: variable(
    'DATABASE_ADMIN_USER',
    'root',
    'Operator account for `hyperstatic db` bootstrap/status/promote/rejoin/setup-replica (creates databases and accounts, fences, resets the binlog of an empty node: give it ALL PRIVILEGES WITH GRANT OPTION); never used by app or producer',
    text,
  ),
  databaseAdminPassword: variable('DATABASE_ADMIN_PASSWORD', '', 'Password of DATABASE_ADMIN_USER', text),
  databaseReplicationUser: variable(
    'DATABASE_REPLICATION_USER',
    'repl',
    'Account replicas use to connect to the primary (CHANGE MASTER TO MASTER_USER)',
    text,
  ),
  databaseReplicationPassword: variable(
    'DATABASE_REPLICATION_PASSWORD',
    '',
    'Password of DATABASE_REPLICATION_USER',
    text,
  ),
  databaseTopologyPollMs: variable(
    'DATABASE_TOPOLOGY_POLL_MS',
    '500',
    'How often app and producer look for a promoted primary, in milliseconds',
    integer(50, 60_000),
  ),
  statusProxyUrls: variable(
    'STATUS_PROXY_URLS',
    '',
    "Comma-separated cache proxy URLs whose /readyz and /metrics (hit ratio) `hyperstatic status` reads: each proxy's operator listener (PROXY_INTERNAL_PORT), or its public URL with PROXY_ADMIN_TOKEN set; empty means none (embedded mode: PROXY_INTERNAL_PORT, else PROXY_PORT)",
    (raw, name) => (raw.trim() === '' ? [] : urlList(raw, name)),
  ),
  statusAppUrls: variable(
    'STATUS_APP_URLS',
    '',
    'Comma-separated origin app URLs whose /readyz `hyperstatic status` checks; empty means none (embedded mode: APP_PORT)',
    (raw, name) => (raw.trim() === '' ? [] : urlList(raw, name)),
  ),
  statusProducerUrls: variable(
    'STATUS_PRODUCER_URLS',
    '',
    "Comma-separated producer URLs (each one's PRODUCER_PORT) whose /readyz `hyperstatic status` checks; empty means none",
    (raw, name) => (raw.trim() === '' ? [] : urlList(raw, name)),
  ),
  statusMirrorUrls: variable(
    'STATUS_MIRROR_URLS',
    '',
    "Comma-separated mirror URLs whose /readyz `hyperstatic status` checks: each mirror's operator listener (MIRROR_INTERNAL_PORT) for details, or its public URL; empty means none (embedded mode: MIRROR_INTERNAL_PORT, else MIRROR_PORT)",
    (raw, name) => (raw.trim() === '' ? [] : urlList(raw, name)),
  ),
  statusStaleSeconds: variable(
    'STATUS_STALE_SECONDS',
    '20',
    '`hyperstatic status`: a mirror report older than this many seconds is shown as unknown, not as what it last said',
    integer(1, 86_400),
  ),
  statusLagSeconds: variable(
    'STATUS_LAG_SECONDS',
    '60',
    '`hyperstatic status`: a mirror, database replica or the oldest pending render further behind than this many seconds is a problem (non-zero exit)',
    integer(1, 86_400),
  ),
  statusTimeoutMs: variable(
    'STATUS_TIMEOUT_MS',
    '2000',
    '`hyperstatic status`: how long each /readyz and /metrics may take before its process counts as down, in milliseconds',
    integer(100, 60_000),
  ),
  redisUrl: variable(
    'REDIS_URL',
    '',
    'redis://host:port for the bull queue; empty means the in-process queue (embedded mode only)',
    optionalUrl,
  ),
  redisSentinels: variable(
    'REDIS_SENTINELS',
    '',
    'Comma-separated host:port of Redis Sentinels; when set, bull and the announcements follow the master they name (REDIS_SENTINEL_MASTER) and REDIS_URL, if set, gives only the password, database number and rediss:',
    (raw, name) => (raw.trim() === '' ? [] : hostPortList(raw, name)),
  ),
  redisSentinelMaster: variable(
    'REDIS_SENTINEL_MASTER',
    'mymaster',
    'Name the Sentinels monitor the Redis master under (`sentinel monitor NAME ...`)',
    (raw, name) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw))
        throw new ConfigError(name, 'use 1-64 letters, digits, dots, hyphens or underscores');
      return raw;
    },
  ),
  redisSentinelPassword: variable(
    'REDIS_SENTINEL_PASSWORD',
    '',
    "Password of the Sentinels themselves (their `requirepass`); empty means they ask none. The master's password goes in REDIS_URL",
    text,
  ),
  redisPrefix: variable(
    'REDIS_PREFIX',
    'hyperstatic',
    'Names the render queue and the journal channel in Redis, so several sites can share one Redis',
    (raw, name) => {
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(raw))
        throw new ConfigError(name, 'use 1-64 letters, digits, hyphens or underscores');
      return raw;
    },
  ),
  logLevel: variable('LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent', logLevel),
  bindHost: variable(
    'BIND_HOST',
    '127.0.0.1',
    'Address every HTTP listener binds to, except the operator listeners (INTERNAL_BIND_HOST)',
    text,
  ),
  internalBindHost: variable(
    'INTERNAL_BIND_HOST',
    '127.0.0.1',
    'Address the operator listeners (MIRROR_INTERNAL_PORT, PROXY_INTERNAL_PORT) bind to; keep it off the public network',
    text,
  ),
  appPort: variable('APP_PORT', '3000', 'Port of the origin app (editor UI, JSON API, change feed)', port),
  trustProxy: variable(
    'TRUST_PROXY',
    '',
    "Reverse proxies in front of the app whose X-Forwarded-For and X-Forwarded-Proto it believes (express 'trust proxy'): a hop count, or comma-separated addresses, CIDR ranges or loopback/linklocal/uniquelocal; empty means none (the peer's address is the client's, and only a direct TLS connection makes cookies Secure)",
    trustProxy,
  ),
  publicUrl: variable(
    'PUBLIC_URL',
    'http://localhost:8080',
    'Public address readers use (absolute links in feeds)',
    url,
  ),
  siteName: variable('SITE_NAME', 'Hyperstatic News', 'Site title shown on every public page', text),
  siteFavicon: variable(
    'SITE_FAVICON',
    '',
    'ICO file the public site serves as /favicon.ico; empty means the one shipped in producer/templates',
    optionalFile,
  ),
  siteIcon: variable(
    'SITE_ICON',
    '',
    'Square PNG (at least 192 px, 512 px best) for the web app manifest and home-screen icons; empty means the one shipped in producer/templates',
    optionalFile,
  ),
  siteThemeColor: variable(
    'SITE_THEME_COLOR',
    '#1b1b1b',
    'Colour (#rgb or #rrggbb) of the browser bar on phones and of the web app manifest',
    (raw, name) => {
      if (!/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(raw)) throw new ConfigError(name, 'use #rgb or #rrggbb');
      return raw;
    },
  ),
  publicSubmitUrl: variable(
    'PUBLIC_SUBMIT_URL',
    'http://localhost:3000/submit',
    "Address of the app's public submission form (/submit), linked from every public page while open publishing is on; empty means no link",
    (raw, name) => (raw.trim() === '' ? '' : url(raw, name)),
  ),
  siteTimeZone: variable(
    'SITE_TIME_ZONE',
    'UTC',
    'IANA time zone the editor shows and reads scheduled times in and the public pages show dates and times in (e.g. Europe/Berlin); the API always takes RFC 3339 with an offset',
    timeZone,
  ),
  siteLanguage: variable(
    'SITE_LANGUAGE',
    'en',
    "Language of the publication (ISO 639 code, optionally with a region: fr, en-US): the public pages' strings (a file in producer/locales must exist for it), lang and dir, and the Google News sitemap",
    languageCode,
  ),
  siteDescription: variable(
    'SITE_DESCRIPTION',
    '',
    "One line about the publication: the home page's tagline and description for search and sharing; empty means a generic one",
    text,
  ),
  siteLogo: variable(
    'SITE_LOGO',
    '',
    "PNG or SVG logo shown in the public pages' header beside the site's name, and the publisher's logo in JSON-LD; empty means none",
    optionalFile,
  ),
  maxBodyBytes: variable(
    'MAX_BODY_BYTES',
    '1048576',
    'Largest JSON request body the API accepts, in bytes',
    integer(1024, 1024 * 1024 * 1024),
  ),
  mediaDir: variable(
    'MEDIA_DIR',
    '',
    'Folder of uploaded media files (content-addressed); empty means $DATA_DIR/media',
    text,
  ),
  mediaMaxBytes: variable(
    'MEDIA_MAX_BYTES',
    String(200 * 1024 * 1024),
    'Largest media upload accepted, in bytes',
    integer(1024, 64 * 1024 * 1024 * 1024),
  ),
  mediaRenditionConcurrency: variable(
    'MEDIA_RENDITION_CONCURRENCY',
    '2',
    'Uploaded images whose responsive renditions are encoded at once (each holds its decoded pixels; libvips already uses every core for one)',
    integer(1, 64),
  ),
  relayIntervalMs: variable(
    'RELAY_INTERVAL_MS',
    '1000',
    'How often the outbox relay retries rows it could not queue (it is also woken by every save)',
    integer(50, 600_000),
  ),
  scheduleRecheckMs: variable(
    'SCHEDULE_RECHECK_MS',
    '30000',
    'How often the scheduler re-reads the next due scheduled change from the database (its timer or bull job is re-armed; covers a lost Redis)',
    integer(50, 600_000),
  ),
  producerPort: variable(
    'PRODUCER_PORT',
    '3001',
    "Port of the producer's /healthz, /readyz and /metrics (separate-process mode)",
    port,
  ),
  producerConcurrency: variable('PRODUCER_CONCURRENCY', '4', 'Render jobs one producer runs at once', integer(1, 64)),
  producerGroupItems: variable(
    'PRODUCER_GROUP_ITEMS',
    '200',
    'Most items one render group takes: saves waiting when a render starts are rendered together, up to this many items',
    integer(1, 5000),
  ),
  producerBurstWaitMs: variable(
    'PRODUCER_BURST_WAIT_MS',
    '1500',
    'While a burst is being rendered, the longest a save waits for its group to fill up (fewer listing pages per save); a save in a quiet moment never waits; 0 turns waiting off',
    integer(0, 60_000),
  ),
  mirrorPort: variable('MIRROR_PORT', '8081', 'Port the mirror serves its static copy on', port),
  mirrorInternalPort: variable(
    'MIRROR_INTERNAL_PORT',
    '',
    "Port of the mirror's operator listener (/_mirror/status, /_mirror/manifest, /metrics, besides everything the public port serves) on INTERNAL_BIND_HOST; empty means none",
    optionalPort,
  ),
  mirrorAdminToken: variable(
    'MIRROR_ADMIN_TOKEN',
    '',
    "Bearer token that opens the mirror's operator endpoints on its public port (and that `mirror verify --peer` sends); empty means they answer 404 there",
    optionalToken,
  ),
  mirrorOrigins: variable(
    'MIRROR_ORIGIN_URLS',
    'http://127.0.0.1:3000',
    'Comma-separated origin URLs the mirror follows',
    urlList,
  ),
  mirrorDataDir: variable('MIRROR_DATA_DIR', '', 'Folder of the mirror copy; empty means $DATA_DIR/mirror', text),
  mirrorPeers: variable(
    'MIRROR_PEERS',
    '',
    'Comma-separated peer mirror URLs to fetch blobs from when every origin fails; empty means none',
    (raw, name) => (raw.trim() === '' ? [] : urlList(raw, name)),
  ),
  mirrorFrameAncestors: variable(
    'MIRROR_FRAME_ANCESTORS',
    'none',
    'Who may frame the public pages (Content-Security-Policy frame-ancestors): none, or self and/or http(s) origins separated by spaces',
    frameAncestors,
  ),
  mirrorIndexMaxAge: variable(
    'MIRROR_INDEX_MAX_AGE',
    '60',
    'Cache-Control max-age, in seconds, the mirror sends for index and feed pages',
    integer(0, 31_536_000),
  ),
  mirrorFetchConcurrency: variable(
    'MIRROR_FETCH_CONCURRENCY',
    '16',
    'Blobs one mirror downloads at once',
    integer(1, 256),
  ),
  mirrorFetchTimeoutMs: variable(
    'MIRROR_FETCH_TIMEOUT_MS',
    '30000',
    'A blob download is abandoned after this many milliseconds without data',
    integer(10, 600_000),
  ),
  mirrorReconnectMs: variable(
    'MIRROR_RECONNECT_MS',
    '500',
    'First delay before reconnecting to the change feed; doubles per failure, up to 60 times this or 30 s',
    integer(10, 600_000),
  ),
  feedSigningKey: variable(
    'FEED_SIGNING_KEY',
    '',
    'Origin: file of the ed25519 private key that signs the change feed; empty means $DATA_DIR/keys/feed-ed25519.key (created by `hyperstatic keys init`, or on first start)',
    text,
  ),
  feedHeartbeatMs: variable(
    'FEED_HEARTBEAT_MS',
    '5000',
    'Origin: how often the feed sends a signed heartbeat (journal head, epoch, time, valid-until), in ms',
    integer(100, 30_000),
  ),
  feedHeartbeatValidMs: variable(
    'FEED_HEARTBEAT_VALID_MS',
    '60000',
    'Origin: how long each heartbeat vouches for the copy, in ms; a mirror whose latest heartbeat is older says it is frozen',
    integer(1000, 30 * 86_400_000),
  ),
  mirrorPublicKey: variable(
    'MIRROR_PUBLIC_KEY',
    '',
    "Mirror: the origin's pinned feed public key (base64, PEM, or a file path); empty means the file $DATA_DIR/keys/feed-ed25519.pub",
    text,
  ),
  mirrorRootKeys: variable(
    'MIRROR_ROOT_KEYS',
    '',
    'Mirror: the pinned root public keys (key ids as `hyperstatic keys root init` prints them), comma-separated, or a file listing them; when set, delegated site keys sign the feed and MIRROR_PUBLIC_KEY is legacy (docs/trust.md)',
    rootKeys,
  ),
  mirrorRootThreshold: variable(
    'MIRROR_ROOT_THRESHOLD',
    '1',
    'Mirror: how many of MIRROR_ROOT_KEYS must sign a delegation or revocation (k of n)',
    integer(1, 32),
  ),
  mirrorPublicUrl: variable(
    'MIRROR_PUBLIC_URL',
    '',
    "Mirror: this mirror's own public address, announced at /.well-known/hyperstatic/mirror.json and in its status; empty means none (pages link only within the site, so any address works)",
    optionalHttpUrl,
  ),
  mirrorOnionLocation: variable(
    'MIRROR_ONION_LOCATION',
    '',
    'Mirror: the http(s) URL of an onion service serving this same copy; HTML pages then carry an Onion-Location header pointing at the same path there (Tor Browser offers it to readers); empty means none',
    onionUrl,
  ),
  mirrorFailoverTimeoutMs: variable(
    'MIRROR_FAILOVER_TIMEOUT_MS',
    '2000',
    "Readers' browsers (the service worker at /sw.js): how long to wait for an address to answer before fetching the page from the next mirror of the signed list, in ms",
    integer(200, 30_000),
  ),
  mirrorFailoverStaleMs: variable(
    'MIRROR_FAILOVER_STALE_MS',
    '604800000',
    "Readers' browsers: how long after its last signed heartbeat expired another mirror's copy is still shown (with a note saying since when), in ms; past it that mirror is refused",
    integer(0, 30 * 86_400_000),
  ),
  mirrorName: variable('MIRROR_NAME', '', 'Name this mirror reports its status under; empty means its URL', text),
  mirrorStatusToken: variable(
    'MIRROR_STATUS_TOKEN',
    '',
    'Mirror: the token it reports its status with (issued by `hyperstatic mirror credentials add NAME` on the origin). Origin (deprecated): a shared token any mirror may report with',
    text,
  ),
  mirrorStatusIntervalMs: variable(
    'MIRROR_STATUS_INTERVAL_MS',
    '5000',
    'How often a mirror reports its cursor and lag to the origin, in milliseconds (0 disables)',
    integer(0, 3_600_000),
  ),
  mirrorBootstrap: variable(
    'MIRROR_BOOTSTRAP',
    'true',
    "An empty mirror loads the origin's manifest first instead of replaying the whole journal",
    boolean,
  ),
  mirrorPreferOriginMs: variable(
    'MIRROR_PREFER_ORIGIN_MS',
    '30000',
    'While following a fallback origin or peer for the feed, go back to the first origin URL after this many milliseconds',
    integer(100, 3_600_000),
  ),
  proxyPort: variable('PROXY_PORT', '8080', 'Port readers reach the cache proxy on', port),
  proxyInternalPort: variable(
    'PROXY_INTERNAL_PORT',
    '',
    "Port of the proxy's operator listener (/metrics, /readyz with details, /healthz) on INTERNAL_BIND_HOST; empty means none",
    optionalPort,
  ),
  proxyAdminToken: variable(
    'PROXY_ADMIN_TOKEN',
    '',
    "Bearer token that opens the proxy's /metrics on its public port (and that `hyperstatic status` sends); empty means it answers 404 there",
    optionalToken,
  ),
  proxyUpstreams: variable(
    'PROXY_UPSTREAMS',
    'http://127.0.0.1:8081',
    'Comma-separated upstream URLs (mirrors or any HTTP origin), nearest first',
    urlList,
  ),
  proxyFeedUrl: variable(
    'PROXY_FEED_URL',
    '',
    'Change feed to follow for instant eviction (a mirror URL); empty means the first upstream if it is a Hyperstatic mirror, "off" disables',
    text,
  ),
  proxyCacheBytes: variable(
    'PROXY_CACHE_BYTES',
    String(256 * 1024 * 1024),
    'Memory the cache may hold, in bytes',
    integer(1024 * 1024, 64 * 1024 * 1024 * 1024),
  ),
  proxyMaxEntryBytes: variable(
    'PROXY_MAX_ENTRY_BYTES',
    String(8 * 1024 * 1024),
    'Responses larger than this are streamed, not cached in memory',
    integer(1024, 1024 * 1024 * 1024),
  ),
  proxyIndexTtl: variable(
    'PROXY_INDEX_TTL',
    '60',
    'Seconds index pages (home, sections, tags, feeds) stay fresh',
    integer(0, 31_536_000),
  ),
  proxyHeuristicFactor: variable(
    'PROXY_HEURISTIC_FACTOR',
    '0.1',
    'Freshness = factor x (now - Last-Modified) when no max-age is given (RFC 9111 4.2.2)',
    decimal(0, 1),
  ),
  proxyMinTtl: variable('PROXY_MIN_TTL', '0', 'Lower clamp of heuristic freshness, in seconds', integer(0, 31_536_000)),
  proxyMaxTtl: variable(
    'PROXY_MAX_TTL',
    '86400',
    'Upper clamp of heuristic freshness, in seconds',
    integer(0, 31_536_000),
  ),
  proxyStaleIfError: variable(
    'PROXY_STALE_IF_ERROR',
    String(3 * 86400),
    'Most seconds past freshness a stale copy is served while the upstreams fail, where the origin (stale-if-error) or PROXY_GRACE_RULES allows it',
    integer(0, 31_536_000),
  ),
  proxyUpstreamTimeoutMs: variable(
    'PROXY_UPSTREAM_TIMEOUT_MS',
    '5000',
    'Timeout of every upstream request, in milliseconds',
    integer(10, 600_000),
  ),
  proxyAccessLog: variable(
    'PROXY_ACCESS_LOG',
    '',
    'Write a structured access log line per request; empty means on for `hyperstatic proxy`, off in the embedded mode (`hyperstatic all`)',
    optionalBoolean,
  ),
  proxyStaleWhileRevalidate: variable(
    'PROXY_STALE_WHILE_REVALIDATE',
    '600',
    'Most seconds past freshness a copy is served while it is refreshed in the background, where the origin (stale-while-revalidate) or PROXY_GRACE_RULES allows it',
    integer(0, 31_536_000),
  ),
  proxyGraceRules: variable(
    'PROXY_GRACE_RULES',
    '',
    'Stale serving the operator allows beyond what origins declare (RFC 9111 4.2.4): rules separated by ";", each "upstream=URL" (one of PROXY_UPSTREAMS) or "path=GLOB", then "stale-while-revalidate=SECONDS" and/or "stale-if-error=SECONDS"; the first matching rule wins; empty means only what origins declare',
    text,
  ),
  proxyIndexPaths: variable(
    'PROXY_INDEX_PATHS',
    '/,/articles*,/events*,/tags/*,/sections/*,/authors*,*.xml,/feeds/*',
    'Comma-separated path patterns (* matches anything) that get the index TTL when the upstream names no page kind',
    (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  ),
  proxyProbeIntervalMs: variable(
    'PROXY_PROBE_INTERVAL_MS',
    '5000',
    'How often an upstream marked down is probed again, in milliseconds',
    integer(50, 600_000),
  ),
  proxyProbePath: variable(
    'PROXY_PROBE_PATH',
    '/healthz',
    'Path probed on an upstream marked down; any answer below 500 brings it back',
    (raw, name) => {
      if (!/^\/[^\s#]*$/.test(raw))
        throw new ConfigError(name, `expected a path starting with /, got ${JSON.stringify(raw)}`);
      return raw;
    },
  ),
  proxyCoalesceTimeoutMs: variable(
    'PROXY_COALESCE_TIMEOUT_MS',
    '10000',
    'How long a request waits for an upstream fetch of the same page already in flight before answering 504 (or stale), in milliseconds',
    integer(10, 600_000),
  ),
  proxyCatchUpWaitMs: variable(
    'PROXY_CATCH_UP_WAIT_MS',
    '2000',
    'How long a fill of a page the feed just evicted waits for a mirror that has applied the change (Hyperstatic-Position) before answering 504 (or stale), in milliseconds; answers from mirrors still behind are never used',
    integer(0, 60_000),
  ),
  proxyPurgeToken: variable(
    'PROXY_PURGE_TOKEN',
    '',
    'Bearer token a PURGE request must carry to evict a path; empty disables PURGE',
    text,
  ),
  proxyWorkers: variable(
    'PROXY_WORKERS',
    '1',
    'Worker processes sharing the proxy port (node:cluster); set to the number of cores to use the whole machine',
    integer(1, 256),
  ),
  proxyReclaimBytes: variable(
    'PROXY_RECLAIM_BYTES',
    String(16 * 1024 * 1024),
    'Bytes of bodies the cache may drop before a full garbage collection returns their memory (keeps RSS at PROXY_CACHE_BYTES plus a fixed overhead; costs CPU in a flood of misses); 0 leaves it to V8',
    integer(0, 64 * 1024 * 1024 * 1024),
  ),
  proxyMaxResponseBytes: variable(
    'PROXY_MAX_RESPONSE_BYTES',
    String(1024 * 1024 * 1024),
    'Largest upstream response body the proxy relays, stored or streamed; a longer one fails with 502 (or a stale copy)',
    integer(1024, 1024 ** 4),
  ),
  proxyFillTimeoutMs: variable(
    'PROXY_FILL_TIMEOUT_MS',
    '30000',
    'How long an upstream body read into the cache (at most PROXY_MAX_ENTRY_BYTES) may take in all, in milliseconds, however steadily it arrives',
    integer(100, 3_600_000),
  ),
  proxyHeadersTimeoutMs: variable(
    'PROXY_HEADERS_TIMEOUT_MS',
    '15000',
    "How long a reader may take to send a request's head, in milliseconds; then 408 and the connection is closed",
    integer(100, 600_000),
  ),
  proxyRequestTimeoutMs: variable(
    'PROXY_REQUEST_TIMEOUT_MS',
    '60000',
    'How long a reader may take to send a whole request (head and body), in milliseconds; then 408',
    integer(100, 3_600_000),
  ),
  proxyMaxConnectionsPerAddress: variable(
    'PROXY_MAX_CONNECTIONS_PER_ADDRESS',
    '256',
    'Open connections one client address may hold; more are answered 429 and closed (0: no limit; raise it behind a CDN or TLS terminator, which connects from few addresses)',
    integer(0, 1_000_000),
  ),
  proxyFeedMaxStreams: variable(
    'PROXY_FEED_MAX_STREAMS',
    '1000',
    'Change-feed streams (/feed) the proxy relays at once; more are answered 503 (0 refuses every one)',
    integer(0, 1_000_000),
  ),
  proxyFeedMaxStreamsPerAddress: variable(
    'PROXY_FEED_MAX_STREAMS_PER_ADDRESS',
    '4',
    'Change-feed streams one client address may hold through the proxy; more are answered 429',
    integer(0, 1_000_000),
  ),
  proxyPurgeMode: variable(
    'PROXY_PURGE_MODE',
    'hard',
    'What feed-driven eviction and PURGE do to a changed page: hard drops it; soft marks it stale, so it is revalidated (served stale meanwhile only where stale is allowed)',
    (raw, name) => {
      if (raw !== 'hard' && raw !== 'soft')
        throw new ConfigError(name, `expected hard or soft, got ${JSON.stringify(raw)}`);
      return raw;
    },
  ),
  proxyTlsPort: variable(
    'PROXY_TLS_PORT',
    '',
    'Port of the HTTPS listener (TLS 1.2+, HTTP/2 with HTTP/1.1 fallback); empty means none. Needs PROXY_TLS_CERT and PROXY_TLS_KEY, or PROXY_TLS_CERT_DIR',
    optionalPort,
  ),
  proxyTlsCert: variable(
    'PROXY_TLS_CERT',
    '',
    'Comma-separated PEM certificate chain files (e.g. fullchain.pem); each serves the names in its subjectAltName (SNI), the first is the default',
    fileList,
  ),
  proxyTlsKey: variable(
    'PROXY_TLS_KEY',
    '',
    'Comma-separated PEM private key files, one per PROXY_TLS_CERT file, in the same order',
    fileList,
  ),
  proxyTlsCertDir: variable(
    'PROXY_TLS_CERT_DIR',
    '',
    "A directory of certificates, one subdirectory each holding fullchain.pem and privkey.pem (certbot's /etc/letsencrypt/live layout); read again on SIGHUP",
    text,
  ),
  proxyHttpRedirect: variable(
    'PROXY_HTTP_REDIRECT',
    'false',
    'PROXY_PORT answers every request with a redirect to the same host and path over HTTPS (301 for GET/HEAD, 308 otherwise) instead of serving the cache',
    boolean,
  ),
  proxyAcmeWebroot: variable(
    'PROXY_ACME_WEBROOT',
    '',
    'Directory whose .well-known/acme-challenge/ files the redirect listener serves over plain HTTP (certbot --webroot -w DIR); empty means none',
    text,
  ),
};

type Spec = typeof spec;
export type Config = { readonly [K in keyof Spec]: Spec[K] extends VariableSpec<infer T> ? T : never };

/** Every variable's name, in the order of the table above. */
export function variableNames(): string[] {
  return variables.map((v) => v.name);
}

/** Variables with their defaults and meanings, for `--help`: all of them, or those named (in the table's order). */
export function describeVariables(names?: readonly string[]): string {
  const unknown = names?.filter((name) => !variables.some((v) => v.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`not configuration variables: ${unknown.join(', ')}`);
  const listed = names ? variables.filter((v) => names.includes(v.name)) : variables;
  const width = Math.max(...listed.map((v) => v.name.length));
  return listed
    .map(
      (v) => `  ${v.name.padEnd(width)}  ${v.description} (default: ${v.defaultValue === '' ? '""' : v.defaultValue})`,
    )
    .join('\n');
}

/** Reads, validates and freezes the configuration. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(spec) as [string, VariableSpec<unknown>][]) {
    const raw = env[v.name] ?? v.defaultValue;
    out[key] = v.parse(raw, v.name);
  }
  const dataDir = path.resolve(String(out.dataDir));
  out.dataDir = dataDir;
  // One-shot commands (migrate, seed, token) use DATABASE_URL; with only DATABASE_NODES set, the first node.
  const nodes = out.databaseNodes as { url: string }[];
  if (out.databaseUrl === '' && nodes.length > 0) out.databaseUrl = nodes[0].url;
  if (out.databaseUrl === '') out.databaseUrl = `sqlite:${path.join(dataDir, 'hyperstatic.sqlite')}`;
  if (out.mirrorDataDir === '') out.mirrorDataDir = path.join(dataDir, 'mirror');
  out.mediaDir = path.resolve(out.mediaDir === '' ? path.join(dataDir, 'media') : String(out.mediaDir));
  out.mirrorDataDir = path.resolve(String(out.mirrorDataDir));
  if (out.feedSigningKey === '') out.feedSigningKey = path.join(dataDir, 'keys', 'feed-ed25519.key');
  if (out.mirrorPublicKey === '') out.mirrorPublicKey = path.join(dataDir, 'keys', 'feed-ed25519.pub');
  const roots = out.mirrorRootKeys as string[];
  if (roots.length > 0 && (out.mirrorRootThreshold as number) > roots.length) {
    throw new ConfigError(
      'MIRROR_ROOT_THRESHOLD',
      `is ${String(out.mirrorRootThreshold)} but MIRROR_ROOT_KEYS lists only ${roots.length} root key(s)`,
    );
  }
  if ((out.proxyMinTtl as number) > (out.proxyMaxTtl as number)) {
    throw new ConfigError('PROXY_MIN_TTL', `must not exceed PROXY_MAX_TTL (${String(out.proxyMaxTtl)})`);
  }
  checkTls(out);
  return Object.freeze(out) as Config;
}

/** The HTTPS settings only make sense together; each message names the variable to change. */
function checkTls(out: Record<string, unknown>): void {
  const port = out.proxyTlsPort as number | undefined;
  const certs = out.proxyTlsCert as string[];
  const keys = out.proxyTlsKey as string[];
  const dir = out.proxyTlsCertDir as string;
  if (certs.length !== keys.length)
    throw new ConfigError(
      'PROXY_TLS_KEY',
      `lists ${keys.length} key file(s) for ${certs.length} certificate file(s) in PROXY_TLS_CERT; give one key per certificate, in the same order`,
    );
  if (port !== undefined && certs.length === 0 && dir === '')
    throw new ConfigError('PROXY_TLS_CERT', 'is required when PROXY_TLS_PORT is set (or set PROXY_TLS_CERT_DIR)');
  if (port === undefined && (certs.length > 0 || dir !== ''))
    throw new ConfigError(
      'PROXY_TLS_PORT',
      'is empty, so the certificates in PROXY_TLS_CERT / PROXY_TLS_CERT_DIR would not be used; set it (e.g. 443)',
    );
  if (port === undefined && out.proxyHttpRedirect === true)
    throw new ConfigError('PROXY_HTTP_REDIRECT', 'redirects to HTTPS, so it needs PROXY_TLS_PORT');
}

/** Where a process finds Redis: one server (REDIS_URL), or the master a set of Sentinels names. */
export interface RedisTarget {
  /** redis://[user:pass@]host:port[/db]; with sentinels only its credentials, database number and TLS are used. */
  readonly url?: string;
  readonly sentinels?: readonly { host: string; port: number }[];
  readonly masterName?: string;
  readonly sentinelPassword?: string;
}

/** The configured Redis, or undefined when there is none (the embedded mode's in-process queue). */
export function redisTarget(config: Config): RedisTarget | undefined {
  if (config.redisSentinels.length > 0)
    return {
      url: config.redisUrl,
      sentinels: config.redisSentinels,
      masterName: config.redisSentinelMaster,
      sentinelPassword: config.redisSentinelPassword || undefined,
    };
  return config.redisUrl ? { url: config.redisUrl } : undefined;
}

/** Fails with a message naming REDIS_URL when a process that cannot run on the in-process queue lacks Redis. */
export function requireRedis(config: Config, role: string): RedisTarget {
  const target = redisTarget(config);
  if (!target) {
    throw new ConfigError(
      'REDIS_URL',
      `is required for \`hyperstatic ${role}\` (or REDIS_SENTINELS; the in-process queue only exists in \`hyperstatic all\`)`,
    );
  }
  return target;
}
