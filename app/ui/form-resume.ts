// A form refused for its CSRF token (app/auth/auth-errors.ts) is never a dead
// end: what it carried comes back in a form that posts to the same place
// with a fresh token, to be checked and sent again. If the session ended,
// the login form carries it (a hidden `resume` field) and, once logged in,
// shows it. Passwords are never carried, nor the old token.

export interface ResumeField {
  name: string;
  value: string;
  /** Shown as a text area: long or several lines. */
  long: boolean;
  /** Sent again but not shown: empty, or bookkeeping the form kept for itself (`publishAtWas`, `intent`, `back`). */
  hidden: boolean;
}

const BOOKKEEPING = /^(intent|back|state|next|bodyFormat)$|Was$/;

export interface ResumableForm {
  action: string;
  fields: ResumeField[];
}

const MAX_FIELDS = 60;

/** Only same-site paths under /editor: never an open redirect. */
export function safeNext(raw: unknown): string {
  return typeof raw === 'string' &&
    /^\/editor(\/[A-Za-z0-9/_?=&.%-]*)?$/.test(raw) &&
    !/(^|\/)\.\.?(\/|$)|%2e/i.test(raw)
    ? raw
    : '/editor';
}

/** The fields of a posted urlencoded form worth giving back (no token, no password), or undefined when there are none. */
export function resumableForm(action: string, body: unknown): ResumableForm | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const fields: ResumeField[] = [];
  for (const [name, raw] of Object.entries(body as Record<string, unknown>)) {
    if (name === '_csrf' || /password/i.test(name)) continue;
    for (const value of Array.isArray(raw) ? raw : [raw])
      if (typeof value === 'string')
        fields.push({
          name,
          value,
          long: value.length > 80 || value.includes('\n'),
          hidden: value.trim() === '' || BOOKKEEPING.test(name),
        });
  }
  const target = safeNext(action);
  if (fields.length === 0 || target !== action) return undefined;
  return { action: target, fields: fields.slice(0, MAX_FIELDS) };
}

/** The login form's `resume` field back into a form: only an editor path, only text fields (never trusted beyond display). */
export function parseResume(raw: unknown): ResumableForm | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    const parsed = JSON.parse(raw) as { action?: unknown; fields?: unknown };
    if (typeof parsed.action !== 'string' || !Array.isArray(parsed.fields)) return undefined;
    const body: Record<string, string[]> = {};
    for (const f of parsed.fields as { name?: unknown; value?: unknown }[])
      if (typeof f?.name === 'string' && typeof f.value === 'string') (body[f.name] ??= []).push(f.value);
    return resumableForm(parsed.action, body);
  } catch {
    return undefined;
  }
}
