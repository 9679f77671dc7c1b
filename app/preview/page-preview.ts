// What the app needs to show a preview page: the producer's page renderer
// (producer/preview-page.ts), handed in by the composition root (bin/),
// because the app does not import the producer (docs/contributing.md, "Layers").
import type { Knex } from 'knex';

export interface PagePreview {
  /** The item's page as the producer renders it, with the preview banner; undefined when the item is gone. */
  render(
    db: Knex | Knex.Transaction,
    item: { topic: 'article' | 'event'; id: number; expiresAt: number },
  ): Promise<string | undefined>;
  /** The stylesheet, icons and manifest the page links, by path. */
  files: { path: string; contentType: string; body: Buffer }[];
}
