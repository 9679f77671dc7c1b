// The page at an item's former slug (app/content/slug-redirects.ts): while
// the item is visible, a small page that sends readers on to its current
// address (meta refresh, rel=canonical, a visible link; noindex) and whose
// content type names the target, so mirrors answer it with a 301
// (common/redirect-page.ts). While the item is not visible its former slugs
// get its 410 tombstone instead (producer/page-renderer.ts), as its page does.
import { redirectContentType } from '../common/redirect-page';
import { articlePath, eventPath } from '../common/site-paths';
import type { PageRef } from './affected-pages';
import type { RenderedPage } from './change-journal';
import { page, PageContext, view, withChrome } from './page-view';

export async function renderRedirect(ctx: PageContext, ref: PageRef & { kind: 'redirect' }): Promise<RenderedPage> {
  const path = ref.topic === 'article' ? articlePath : eventPath;
  const to = path(ref.to);
  await withChrome(ctx);
  return page(
    path(ref.slug),
    'article',
    view(ctx, 'redirect.njk', { to, what: ref.topic }),
    redirectContentType(to),
    ctx.now,
  );
}
