// Lead images: an article or event names one uploaded image (by sha256)
// and its alt text. The field rules are pure (shared by the JSON API and
// the forms); the existence check runs inside the save's transaction.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { SHA256_HEX } from '../../common/hash';
import { BadRequestError } from '../errors';

export const LEAD_IMAGE_ALT_MAX = 300;

export interface LeadImageInput {
  /** sha256 of an uploaded image; null removes the lead image. */
  leadImage?: string | null;
  leadImageAlt?: string;
}

/** What reads of an item return: the stored choice, with the files a page shows. */
export interface LeadImage {
  sha256: string;
  alt: string;
  path: string;
  width: number | null;
  height: number | null;
  renditionPath: string | null;
  renditionWidth: number | null;
  renditionHeight: number | null;
}

/** Validates `leadImage` and `leadImageAlt` of a JSON body into `input` (pure). */
export function parseLeadImageFields(body: Record<string, unknown>, input: LeadImageInput): void {
  if (body.leadImage !== undefined) {
    if (body.leadImage === null) input.leadImage = null;
    else if (typeof body.leadImage !== 'string' || !SHA256_HEX.test(body.leadImage)) {
      throw new BadRequestError(
        'leadImage must be the sha256 of an uploaded image (64 lowercase hex digits, as POST /api/media answers) or null',
        'leadImage',
      );
    } else input.leadImage = body.leadImage;
  }
  if (body.leadImageAlt !== undefined) {
    if (typeof body.leadImageAlt !== 'string')
      throw new BadRequestError('leadImageAlt must be a string', 'leadImageAlt');
    if (body.leadImageAlt.length > LEAD_IMAGE_ALT_MAX)
      throw new BadRequestError(`leadImageAlt is longer than ${LEAD_IMAGE_ALT_MAX} characters`, 'leadImageAlt');
    if (/[\p{Cc}\p{Cs}\ufffe\uffff]/u.test(body.leadImageAlt))
      throw new BadRequestError(
        'leadImageAlt may not contain control characters or unpaired surrogates',
        'leadImageAlt',
      );
    input.leadImageAlt = body.leadImageAlt.trim();
  }
}

/** The columns a save writes for the lead-image fields it was given; refuses a hash that is not an uploaded image. */
export async function leadImageChanges(trx: Knex.Transaction, input: LeadImageInput): Promise<Record<string, unknown>> {
  const changes: Record<string, unknown> = {};
  if (input.leadImage !== undefined) {
    if (input.leadImage !== null) {
      const media = await trx('media').where({ sha256: input.leadImage }).first('kind');
      if (!media)
        throw new BadRequestError(
          `leadImage: no uploaded media has sha256 ${input.leadImage}; upload it first (POST /api/media)`,
          'leadImage',
        );
      if (media.kind !== 'image')
        throw new BadRequestError(`leadImage: media ${input.leadImage} is ${media.kind}, not an image`, 'leadImage');
    }
    changes.lead_image = input.leadImage;
  }
  if (input.leadImageAlt !== undefined) changes.lead_image_alt = input.leadImageAlt;
  return changes;
}

/** Lead images of items (by lead_image hash and alt), for reads. */
export async function leadImagesOf(
  db: Database | Knex.Transaction,
  rows: { lead_image?: unknown; lead_image_alt?: unknown }[],
): Promise<(LeadImage | null)[]> {
  const hashes = [...new Set(rows.map((r) => r.lead_image).filter((h): h is string => typeof h === 'string'))];
  const media = hashes.length
    ? await db('media')
        .whereIn('sha256', hashes)
        .select('sha256', 'path', 'width', 'height', 'rendition_path', 'rendition_width', 'rendition_height')
    : [];
  const byHash = new Map(media.map((m) => [m.sha256 as string, m]));
  const n = (v: unknown) => (v == null ? null : Number(v));
  return rows.map((r) => {
    const m = typeof r.lead_image === 'string' ? byHash.get(r.lead_image) : undefined;
    if (!m) return null;
    return {
      sha256: m.sha256 as string,
      alt: String(r.lead_image_alt ?? ''),
      path: m.path as string,
      width: n(m.width),
      height: n(m.height),
      renditionPath: (m.rendition_path as string | null) ?? null,
      renditionWidth: n(m.rendition_width),
      renditionHeight: n(m.rendition_height),
    };
  });
}
