// Shared setup for the editor tests: an origin app on a fresh MariaDB
// database (real Redis for its queue), users of every role, and a small
// cookie-keeping client that drives the HTML forms like a browser without
// JavaScript would.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { sharedDatabase, sharedRedisUrl, SharedDatabase } from '../harness/shared';

export const PASSWORD = 'correct horse battery';

export interface EditorOrigin {
  url: string;
  db: Database;
  mediaDir: string;
  tokens: { admin: string; editor: string; moderator: string };
  /** Another app instance on the same database, media folder and queue. */
  startAnother(): Promise<RunningService>;
  close(): Promise<void>;
}

export async function startEditorOrigin(name: string, env: Record<string, string> = {}): Promise<EditorOrigin> {
  const shared: SharedDatabase = await sharedDatabase(name);
  const redisUrl = await sharedRedisUrl();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `hs-${name}-`));
  const config = loadConfig({
    DATABASE_URL: shared.primaryUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: shared.database,
    DATA_DIR: dataDir,
    APP_PORT: '0',
    LOG_LEVEL: 'silent',
    RELAY_INTERVAL_MS: '60000',
    ...env,
  });
  const db = createDatabase(config.databaseUrl);
  await migrateLatest(db);
  for (const [user, role] of [
    ['admin1', 'admin'],
    ['editor1', 'editor'],
    ['mod1', 'moderator'],
  ] as const)
    await createUser(db, user, role, PASSWORD);
  await db('sections').insert({ slug: 'news', name: 'News' });
  const tokens = {
    admin: await createApiToken(db, 'admin1'),
    editor: await createApiToken(db, 'editor1'),
    moderator: await createApiToken(db, 'mod1'),
  };
  const app: RunningService = await startApp(config, { logger: createLogger('silent', 'test') });
  return {
    url: app.url,
    db,
    mediaDir: config.mediaDir,
    tokens,
    startAnother: () => startApp(config, { logger: createLogger('silent', 'test') }),
    async close() {
      await app.close();
      await db.destroy();
      await shared.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Page {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/** A cookie jar and form poster: what a browser without JavaScript does. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  last?: Page;

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => /max-age=0/i.test(a.trim())) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(
    method: string,
    url: string,
    body?: RequestInit['body'],
    headers: Record<string, string> = {},
  ): Promise<Page> {
    const res = await fetch(new URL(url, this.base), {
      method,
      body,
      headers: { cookie: this.cookieHeader(), ...headers },
      redirect: 'manual',
    });
    this.remember(res);
    const page = {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      location: res.headers.get('location'),
    };
    this.last = page;
    return page;
  }

  get(url: string): Promise<Page> {
    return this.request('GET', url);
  }

  post(url: string, fields: Record<string, string | string[]>): Promise<Page> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    return this.request('POST', url, form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
  }

  /** The CSRF token of the last page's first form. */
  csrf(): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(this.last?.text ?? '');
    if (!match) throw new Error('no CSRF token on the last page');
    return match[1];
  }

  async login(name: string, password = PASSWORD): Promise<Page> {
    await this.get('/editor/login');
    return this.post('/editor/login', { _csrf: this.csrf(), name, password, next: '/editor' });
  }
}
