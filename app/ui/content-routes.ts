// Dashboard, article lists, the edit form with preview, revisions and
// sections. Every form posts back with the session's CSRF token; a form
// that fails validation is shown again with its values and a 400.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import type { ArticleInput } from '../articles/article-input';
import { sanitizeBody } from '../articles/sanitize';
import { slugify } from '../articles/slug';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import { parseArticleForm, formValues, ArticleFormValues } from './article-form';
import { dashboardCounts, listArticles, parseArticleFilter } from './content-queries';
import type { EditorDeps } from './editor-deps';
import type { MediaItem } from '../media/media-store';
import { propagationOf } from '../content/propagation';
import { listTags, renameTag } from '../content/tags';
import { parseId } from '../http/request-params';
import { listSections } from '../content/sections';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

/** The lead-image picker's choices: the newest images, and the chosen one wherever it is in the library. */
export async function leadImageChoices(deps: EditorDeps, chosen: string): Promise<MediaItem[]> {
  const recent = await deps.media.list({ limit: LEAD_IMAGE_CHOICES, offset: 0, kind: 'image' });
  if (chosen === '' || recent.some((m) => m.sha256 === chosen)) return recent;
  // A chosen image that is not in the library (a form posted with a stale or made-up hash) is simply not offered; a database error is not hidden.
  const current = await deps.media.get(chosen).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  return current?.kind === 'image' ? [current, ...recent] : recent;
}

const LEAD_IMAGE_CHOICES = 24;

export function contentRoutes(deps: EditorDeps): Router {
  const { db, views, articles } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  router.get('/editor', anyone, async (req: WebRequest, res) => {
    const [counts, recent, queue] = await Promise.all([
      dashboardCounts(db),
      listArticles(db, { page: 1 }),
      deps.moderation.queue({ state: 'pending', limit: 5 }),
    ]);
    renderPage(views, res, 'dashboard.njk', {
      counts,
      recent: recent.rows.slice(0, 8),
      queue,
      nav: 'dashboard',
      notice: req.query.notice,
    });
  });

  router.get('/editor/articles', anyone, async (req: WebRequest, res) => {
    const filter = parseArticleFilter(req.query as Record<string, unknown>);
    const [{ rows, more }, sections] = await Promise.all([listArticles(db, filter), listSections(db)]);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries({ status: filter.status, section: filter.section, q: filter.q }))
      if (v) query.set(k, v);
    renderPage(views, res, 'articles.njk', {
      rows,
      more,
      filter,
      sections,
      query: query.toString(),
      nav: 'articles',
      notice: req.query.notice,
    });
  });

  async function showForm(
    res: express.Response,
    options: {
      id?: number;
      values: ArticleFormValues;
      error?: HyperstaticError;
      preview?: string;
      status?: number;
      notice?: unknown;
    },
  ) {
    const sections = await listSections(db);
    const article = options.id ? await articles.get(options.id) : undefined;
    const [revisions, propagation] = article
      ? await Promise.all([
          articles.revisions(article.id),
          propagationOf(db, { topic: 'article', ...article }, deps.now()),
        ])
      : [[], undefined];
    const images = await leadImageChoices(deps, options.values.leadImage);
    renderPage(
      views,
      res,
      'article-edit.njk',
      {
        article,
        values: options.values,
        sections,
        revisions,
        propagation,
        preview: options.preview,
        images,
        error: options.error?.message,
        errorField: (options.error as { field?: string } | undefined)?.field,
        nav: 'articles',
        notice: options.notice,
        publicUrl: deps.publicUrl,
      },
      options.status ?? 200,
    );
  }

  router.get('/editor/articles/new', editors, async (_req, res) => {
    await showForm(res, {
      values: {
        title: '',
        summary: '',
        body: '',
        section: '',
        tags: '',
        status: 'draft',
        featured: false,
        leadImage: '',
        leadImageAlt: '',
      },
    });
  });

  router.get('/editor/articles/:id', anyone, async (req: WebRequest, res) => {
    const article = await articles.get(parseId(req.params.id));
    const values = {
      title: article.title,
      summary: article.summary,
      body: article.body,
      section: article.section ?? '',
      tags: article.tags.join(', '),
      status: article.status,
      featured: article.featured,
      leadImage: article.leadImage?.sha256 ?? '',
      leadImageAlt: article.leadImage?.alt ?? '',
    };
    await showForm(res, { id: article.id, values, notice: req.query.notice });
  });

  router.get('/editor/articles/:id/propagation.json', anyone, async (req: WebRequest, res) => {
    const article = await articles.get(parseId(req.params.id));
    res.json(await propagationOf(db, { topic: 'article', ...article }, deps.now()));
  });

  // One handler for "Save" and "Preview": without JavaScript, the preview is
  // the same form posted with intent=preview, shown again with the sanitized body.
  async function save(req: WebRequest, res: express.Response, id: number | undefined) {
    const body = req.body as Record<string, unknown>;
    const values = formValues(body);
    let input: ArticleInput;
    try {
      input = parseArticleForm(body, id ? 'update' : 'create', { allowStatus: true });
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500)
        return showForm(res, { id, values, error, status: error.status });
      throw error;
    }
    if (body.intent === 'preview') return showForm(res, { id, values, preview: sanitizeBody(input.body ?? '') });
    try {
      const user = req.session!.user;
      const actor = { userId: user.id };
      const saved = id ? await articles.update(id, input, { actor }) : await articles.create(input, user.id, { actor });
      res.redirect(303, withNotice(`/editor/articles/${saved.id}`, id ? 'saved' : `created at ${saved.url}`));
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500)
        return showForm(res, { id, values, error, status: error.status });
      throw error;
    }
  }

  router.post('/editor/articles', editors, form, requireCsrf, (req: WebRequest, res) => save(req, res, undefined));
  router.post('/editor/articles/:id', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await articles.get(id);
    await save(req, res, id);
  });

  router.get('/editor/articles/:id/revisions/:rev', anyone, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const revision = await articles.revision(id, parseId(req.params.rev, 'revision'));
    const article = await articles.get(id);
    renderPage(views, res, 'revision.njk', { article, revision, nav: 'articles' });
  });

  router.post(
    '/editor/articles/:id/revisions/:rev/restore',
    editors,
    form,
    requireCsrf,
    async (req: WebRequest, res) => {
      const id = parseId(req.params.id);
      const rev = parseId(req.params.rev, 'revision');
      await articles.restore(id, rev, req.session!.user.id);
      res.redirect(303, withNotice(`/editor/articles/${id}`, `restored revision ${rev}`));
    },
  );

  router.get('/editor/sections', anyone, async (req: WebRequest, res) => {
    renderPage(views, res, 'sections.njk', {
      sections: await listSections(db),
      nav: 'sections',
      notice: req.query.notice,
    });
  });

  router.post('/editor/sections', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name === '' || name.length > 100) throw new BadRequestError('a section name is 1 to 100 characters', 'name');
    if (/[<>\p{Cc}]/u.test(name))
      throw new BadRequestError('section names may not contain < > or control characters', 'name');
    const slug = slugify(typeof body.slug === 'string' && body.slug !== '' ? body.slug : name, 64);
    if (slug === '') throw new BadRequestError('the section needs letters or digits in its name', 'name');
    if (await db('sections').where({ slug }).first('id'))
      throw new ConflictError(`section "${slug}" already exists`, 'slug');
    await db('sections').insert({ slug, name });
    res.redirect(303, withNotice('/editor/sections', `section ${name} created`));
  });

  router.get('/editor/tags', anyone, async (req: WebRequest, res) => {
    renderPage(views, res, 'tags.njk', { tags: await listTags(db), nav: 'sections', notice: req.query.notice });
  });

  router.post('/editor/tags/:slug', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const renamed = await renameTag(
      db,
      String(req.params.slug),
      (req.body as Record<string, unknown>).name,
      deps.now(),
    );
    res.redirect(
      303,
      withNotice(
        '/editor/tags',
        `tag ${renamed.slug} renamed to ${renamed.name}; ${renamed.queued} item(s) re-rendering`,
      ),
    );
  });

  return router;
}
