// The dependency model: which public pages show an article. Pure: the state
// of the item in, the set of pages to regenerate out. Rendering compares
// hashes, so a page listed here whose bytes do not change costs no journal
// entry.
import { articlePath, HOME_PATH } from '../common/site-paths';

export type PageRef = { kind: 'article'; path: string; visible: boolean } | { kind: 'home'; path: string };

export interface ArticleState {
  slug: string;
  status: 'draft' | 'published' | 'hidden';
}

/** Content pages first, then the indexes that link to them (DESIGN §2.5). */
export function affectedPages(article: ArticleState): PageRef[] {
  return [
    { kind: 'article', path: articlePath(article.slug), visible: article.status === 'published' },
    { kind: 'home', path: HOME_PATH },
  ];
}
