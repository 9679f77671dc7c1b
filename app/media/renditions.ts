// Responsive renditions of an uploaded image: a few widths (never wider than
// the image), each as AVIF and WebP, so a page can offer them in `srcset` and
// the browser fetches the smallest that fills its slot. The image is decoded
// once (EXIF rotation applied), scaled to the widest step, and every smaller
// step is scaled from that; the original stays the fallback for browsers
// without either format. Images are encoded a bounded number at a time
// (MEDIA_RENDITION_CONCURRENCY): libvips already spreads one image over
// every core, and each image in flight holds its decoded pixels.
import sharp, { type Sharp } from 'sharp';

/** The widths offered, in CSS pixels at 1x: a phone's full width up to a desktop column at 2x. */
export const RENDITION_WIDTHS = [320, 640, 960, 1280];

export const RENDITION_FORMATS = [
  // AVIF first: a <picture> takes the first <source> whose type the browser supports.
  { ext: 'avif', contentType: 'image/avif', encode: (s: Sharp) => s.avif({ quality: 55, effort: 2 }) },
  { ext: 'webp', contentType: 'image/webp', encode: (s: Sharp) => s.webp({ quality: 78 }) },
] as const;

/** One stored rendition as the media row lists it (`media.renditions`, JSON). */
export interface RenditionInfo {
  path: string;
  contentType: string;
  width: number;
  height: number;
}

export interface RenditionFile extends Omit<RenditionInfo, 'path'> {
  ext: string;
  body: Buffer;
}

export interface Renditions {
  /** The size a browser lays the original out at: after EXIF rotation (a portrait phone photo is stored landscape). */
  width: number;
  height: number;
  /** Empty for an animated image (a still rendition would lose the animation; the original is shown). */
  files: RenditionFile[];
}

/**
 * The widths to make of an image `width` pixels wide: the steps clearly
 * narrower than it (under 80%, so a 660 px image does not get a 640 px copy
 * of itself), and the image's own width, capped at the widest step. Never
 * wider than the image.
 */
export function renditionWidths(width: number): number[] {
  const widest = RENDITION_WIDTHS[RENDITION_WIDTHS.length - 1];
  const top = Math.min(width, widest);
  return [...RENDITION_WIDTHS.filter((w) => w < top * 0.8), top];
}

/** Every rendition of the image file at `source`; throws when it does not decode as an image. */
export async function makeRenditions(source: string): Promise<Renditions> {
  const meta = await sharp(source, { failOn: 'error' }).metadata();
  const shown = meta.autoOrient;
  if (!shown?.width || !shown.height) throw new Error('the image has no size');
  if ((meta.pages ?? 1) > 1) return { width: shown.width, height: shown.height, files: [] };
  const widths = renditionWidths(shown.width);
  const base = await sharp(source, { failOn: 'error' })
    .rotate()
    .resize({ width: widths[widths.length - 1], withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { width: base.info.width, height: base.info.height, channels: base.info.channels };
  const files: RenditionFile[] = [];
  for (const width of widths) {
    for (const format of RENDITION_FORMATS) {
      const scaled = sharp(base.data, { raw }).resize({ width, withoutEnlargement: true });
      const { data, info } = await format.encode(scaled).toBuffer({ resolveWithObject: true });
      files.push({
        ext: format.ext,
        contentType: format.contentType,
        width: info.width,
        height: info.height,
        body: data,
      });
    }
  }
  return { width: shown.width, height: shown.height, files };
}

/** The public path of one rendition: beside the original, named by its hash (common/page-tags.ts tags them together). */
export function renditionPath(original: string, file: Pick<RenditionFile, 'width' | 'ext'>): string {
  return `/media/${original}-${file.width}.${file.ext}`;
}

/**
 * The WebP rendition the editor's media list and the API's `renditionPath`
 * name (before responsive images there was one, 480 px wide): the narrowest
 * at least 480 px wide, else the widest.
 */
export function listingRendition<R extends RenditionInfo>(renditions: R[]): R | undefined {
  const webp = renditions.filter((r) => r.contentType === 'image/webp').sort((a, b) => a.width - b.width);
  return webp.find((r) => r.width >= 480) ?? webp[webp.length - 1];
}

/** Runs at most `limit` tasks at once; the rest wait their turn in order. */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < limit) running += 1;
    // A finishing task hands its slot straight to the next in line, so a newcomer cannot slip in between.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
