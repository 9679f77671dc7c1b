// Work is never lost (docs/api.md, "Autosave and recovery"):
// - every change is kept in this browser (localStorage, per item and user)
//   at once, so a failed save, an ended session or a closed tab loses nothing;
// - a few seconds into typing, the form is autosaved to the server as a
//   draft revision of the item, which publishes nothing (POST …/autosave);
// - leaving the page with changes not saved asks first (beforeunload);
// - on load, text this browser kept that the page does not show (the save
//   never arrived: the session had ended) is offered back.
import { SET_VALUE_EVENT } from './body-editor';

const KEPT_FIELDS = ['title', 'summary', 'body', 'tags'];
const AUTOSAVE_AFTER_MS = 3000;
const RETRY_AFTER_MS = 10_000;

interface Kept {
  values: Record<string, string>;
  at: number;
  /** The item's updatedAt when the page was loaded: a save since then means the kept text arrived. */
  base: string;
  submitted: boolean;
}

function field(form: HTMLFormElement, name: string): HTMLInputElement | HTMLTextAreaElement | null {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement | null;
}

function valuesOf(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries(
    KEPT_FIELDS.flatMap((name) => (field(form, name) ? [[name, field(form, name)!.value]] : [])),
  );
}

const sameValues = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).every((k) => (a[k] ?? '') === (b[k] ?? ''));

function read(key: string): Kept | undefined {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

const time = (ms: number) => new Date(ms).toLocaleTimeString();

export function keepWork(form: HTMLFormElement): void {
  const key = `hs-draft:${form.dataset.draftKey}`;
  const base = form.dataset.updatedAt ?? '';
  const autosaveUrl = form.dataset.autosaveUrl;
  const loginUrl = form.dataset.loginUrl ?? '/editor/login';
  const csrf = () => (field(form, '_csrf') as HTMLInputElement | null)?.value ?? '';
  const status = Object.assign(document.createElement('p'), { className: 'autosave-status hint' });
  status.setAttribute('role', 'status');
  form.querySelector('.actions')?.after(status);
  let dirty = false;
  let leaving = false;
  let timer: number | undefined;
  let inFlight = false;

  const keep = (submitted = false) => {
    const kept: Kept = { values: valuesOf(form), at: Date.now(), base, submitted };
    try {
      localStorage.setItem(key, JSON.stringify(kept));
    } catch {
      status.textContent = 'This browser could not keep a copy of your text (storage full or off).';
    }
  };

  function sessionEnded() {
    status.textContent = 'Your session has ended, so this was not autosaved. Your text is kept in this browser: ';
    const link = Object.assign(document.createElement('a'), { href: loginUrl, textContent: 'log in again' });
    link.dataset.relogin = 'true';
    // Leaving for the login page is safe: the text comes back when this page loads again.
    link.addEventListener('click', () => (leaving = true));
    status.append(link, document.createTextNode(' and it is offered back here.'));
  }

  async function autosave() {
    timer = undefined;
    if (!autosaveUrl || inFlight) return;
    inFlight = true;
    const body = new URLSearchParams(new FormData(form) as unknown as Record<string, string>);
    body.delete('intent');
    try {
      const res = await fetch(autosaveUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'x-csrf-token': csrf() },
        body,
      });
      const answer = (await res.json().catch(() => ({}))) as { savedAt?: number; error?: string };
      if (res.status === 401 || res.status === 403) sessionEnded();
      else if (!res.ok) status.textContent = `Not autosaved: ${answer.error ?? `the server answered ${res.status}`}.`;
      else
        status.textContent = `Draft autosaved at ${time(answer.savedAt ?? Date.now())} (not published; Save to keep it).`;
    } catch {
      status.textContent = 'Autosave failed (no connection?). Your text is kept in this browser; trying again.';
      timer = window.setTimeout(autosave, RETRY_AFTER_MS);
    } finally {
      inFlight = false;
    }
  }

  const changed = () => {
    dirty = true;
    keep();
    if (autosaveUrl && timer === undefined) timer = window.setTimeout(autosave, AUTOSAVE_AFTER_MS);
  };
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  form.addEventListener('submit', () => {
    leaving = true;
    keep(true);
  });
  window.addEventListener('beforeunload', (event) => {
    if (!dirty || leaving) return;
    event.preventDefault();
    event.returnValue = '';
  });
  offerKept(form, key, base, () => changed());
}

/** Offers back text this browser kept that the page does not show; forgets it once a save has arrived. */
function offerKept(form: HTMLFormElement, key: string, base: string, restored: () => void): void {
  if (form.dataset.forget) localStorage.removeItem(`hs-draft:${form.dataset.forget}`);
  const kept = read(key);
  if (!kept) return;
  const savedSince = kept.submitted && base !== '' && base !== kept.base;
  if (savedSince || sameValues(kept.values, valuesOf(form))) return localStorage.removeItem(key);
  const offer = Object.assign(document.createElement('div'), { className: 'recovery notice' });
  offer.setAttribute('role', 'region');
  offer.setAttribute('aria-label', 'Unsaved text');
  offer.append(`This browser kept text you had not saved (from ${time(kept.at)}). `);
  const restore = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Restore it' });
  const discard = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Discard' });
  offer.append(restore, ' ', discard);
  form.prepend(offer);
  restore.addEventListener('click', () => {
    for (const [name, value] of Object.entries(kept.values)) {
      const input = field(form, name);
      if (!input) continue;
      input.value = value;
      input.dispatchEvent(new Event(SET_VALUE_EVENT));
    }
    offer.remove();
    restored();
  });
  discard.addEventListener('click', () => {
    localStorage.removeItem(key);
    offer.remove();
  });
}
