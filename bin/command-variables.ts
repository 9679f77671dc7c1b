// Which configuration variables each command reads, so that its --help lists
// those and no others (`hyperstatic help env` lists every one). Keyed by the
// command's path; "group *" covers every subcommand of a group.
import { variableNames } from '../common/config';

const LOG = ['LOG_LEVEL'];
const DATABASE = ['DATA_DIR', 'DATABASE_URL', 'DATABASE_NODES', 'DATABASE_TOPOLOGY_POLL_MS'];
const DATABASE_OPERATOR = [
  ...DATABASE,
  'DATABASE_ADMIN_USER',
  'DATABASE_ADMIN_PASSWORD',
  'DATABASE_REPLICATION_USER',
  'DATABASE_REPLICATION_PASSWORD',
];
const REDIS = ['REDIS_URL', 'REDIS_PREFIX', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_PASSWORD'];
const PAGES = [
  'SITE_NAME',
  'PUBLIC_URL',
  'SITE_LANGUAGE',
  'SITE_TIME_ZONE',
  'SITE_DESCRIPTION',
  'SITE_LOGO',
  'SITE_FAVICON',
  'SITE_ICON',
  'SITE_THEME_COLOR',
  'PUBLIC_SUBMIT_URL',
];
const FEED_KEY = ['DATA_DIR', 'FEED_SIGNING_KEY'];
const ROOTS = ['MIRROR_ROOT_KEYS', 'MIRROR_ROOT_THRESHOLD'];
const ORIGIN = [
  'BIND_HOST',
  'APP_PORT',
  ...PAGES,
  'MAX_BODY_BYTES',
  'MEDIA_DIR',
  'MEDIA_MAX_BYTES',
  'MEDIA_RENDITION_CONCURRENCY',
  'RELAY_INTERVAL_MS',
  ...FEED_KEY,
  'FEED_HEARTBEAT_MS',
  'FEED_HEARTBEAT_VALID_MS',
  'MIRROR_STATUS_TOKEN',
  'TRUST_PROXY',
  'SCHEDULE_RECHECK_MS',
];
const PRODUCER = [
  'BIND_HOST',
  'PRODUCER_PORT',
  'PRODUCER_CONCURRENCY',
  'PRODUCER_GROUP_ITEMS',
  'PRODUCER_BURST_WAIT_MS',
  ...PAGES,
];
const byPrefix = (prefix: string) => variableNames().filter((name) => name.startsWith(prefix));
const MIRROR = ['DATA_DIR', 'BIND_HOST', 'INTERNAL_BIND_HOST', ...byPrefix('MIRROR_')];
const PROXY = ['BIND_HOST', 'INTERNAL_BIND_HOST', ...byPrefix('PROXY_')];
/** The embedded mode wires its mirror to its app and its proxy to its mirror itself. */
const WIRED_IN_EMBEDDED = [
  'MIRROR_ORIGIN_URLS',
  'MIRROR_PUBLIC_KEY',
  'PROXY_UPSTREAMS',
  'PROXY_WORKERS',
  'PRODUCER_PORT',
];

export const COMMAND_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  all: [...LOG, ...DATABASE, ...REDIS, ...ORIGIN, ...PRODUCER, ...MIRROR, ...PROXY].filter(
    (name) => !WIRED_IN_EMBEDDED.includes(name),
  ),
  app: [...LOG, ...DATABASE, ...REDIS, ...ORIGIN],
  producer: [...LOG, ...DATABASE, ...REDIS, ...PRODUCER],
  mirror: [...LOG, ...MIRROR],
  proxy: [...LOG, ...PROXY],
  seed: DATABASE,
  rebuild: [...DATABASE, ...PAGES],
  purge: [...DATABASE, ...PAGES, ...REDIS],
  status: [
    ...DATABASE_OPERATOR,
    ...byPrefix('STATUS_'),
    'PROXY_ADMIN_TOKEN',
    'MIRROR_ADMIN_TOKEN',
    // Embedded mode: the processes to probe are found from their ports.
    'BIND_HOST',
    'APP_PORT',
    'MIRROR_PORT',
    'MIRROR_INTERNAL_PORT',
    'PROXY_PORT',
    'PROXY_INTERNAL_PORT',
    'INTERNAL_BIND_HOST',
  ],
  'token *': DATABASE,
  'user *': DATABASE,
  'fixtures *': DATABASE,
  'db migrate': [...LOG, ...DATABASE],
  'db *': [...LOG, ...DATABASE_OPERATOR],
  'keys init': FEED_KEY,
  'keys show': FEED_KEY,
  'keys install': DATABASE,
  'keys list': [...DATABASE, 'FEED_SIGNING_KEY'],
  'keys root *': [],
  'keys *': ROOTS,
  'mirror verify': [...LOG, 'DATA_DIR', ...byPrefix('MIRROR_')],
  'mirror credentials *': DATABASE,
  'mirrors list': DATABASE,
  'mirrors verify': ROOTS,
  'mirrors *': [...DATABASE, ...PAGES, ...REDIS, ...FEED_KEY],
  'media renditions': [...DATABASE, 'MEDIA_DIR', 'MEDIA_RENDITION_CONCURRENCY'],
  'bundle export': [...LOG, ...DATABASE, 'FEED_SIGNING_KEY', 'MEDIA_DIR'],
  'bundle verify': ['DATA_DIR', ...ROOTS, 'MIRROR_PUBLIC_KEY'],
};

/** The variables the command at `path` (e.g. ["db", "status"]) reads; undefined for a group or an unlisted command. */
export function variablesOf(path: readonly string[]): string[] | undefined {
  const exact = COMMAND_VARIABLES[path.join(' ')];
  if (exact) return [...new Set(exact)];
  for (let depth = path.length - 1; depth >= 1; depth--) {
    const group = COMMAND_VARIABLES[`${path.slice(0, depth).join(' ')} *`];
    if (group) return [...new Set(group)];
  }
  return undefined;
}
