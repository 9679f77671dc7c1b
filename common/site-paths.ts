// Public paths of the static site, shared by the app (which tells editors
// where an item will be) and the producer (which renders it there).
// Article pages live outside /articles* so that the cache tier's index-page
// TTL rules never catch them: they get age-proportional freshness.
export const HOME_PATH = '/';

export function articlePath(slug: string): string {
  return `/news/${slug}`;
}
