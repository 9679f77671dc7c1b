// The type of an upload, decided from its first bytes (magic numbers), never
// from its name or the Content-Type the client claims. Only formats a
// browser plays inertly are accepted: no SVG (it can carry script), no HTML.
export interface SniffedType {
  kind: 'image' | 'audio' | 'video';
  contentType: string;
  ext: string;
}

/** Bytes sniff() needs to decide. */
export const SNIFF_BYTES = 64;

const ascii = (buf: Buffer, offset: number, text: string) =>
  buf.length >= offset + text.length && buf.toString('latin1', offset, offset + text.length) === text;
const bytes = (buf: Buffer, offset: number, values: number[]) =>
  buf.length >= offset + values.length && values.every((v, i) => buf[offset + i] === v);

export function sniff(head: Buffer): SniffedType | undefined {
  if (bytes(head, 0, [0xff, 0xd8, 0xff])) return { kind: 'image', contentType: 'image/jpeg', ext: 'jpg' };
  if (bytes(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'image', contentType: 'image/png', ext: 'png' };
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a'))
    return { kind: 'image', contentType: 'image/gif', ext: 'gif' };
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP'))
    return { kind: 'image', contentType: 'image/webp', ext: 'webp' };
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE')) return { kind: 'audio', contentType: 'audio/wav', ext: 'wav' };
  if (ascii(head, 4, 'ftyp')) {
    const brand = head.toString('latin1', 8, 12);
    if (brand === 'avif' || brand === 'avis') return { kind: 'image', contentType: 'image/avif', ext: 'avif' };
    if (brand === 'M4A ' || brand === 'M4B ') return { kind: 'audio', contentType: 'audio/mp4', ext: 'm4a' };
    if (brand === 'qt  ') return { kind: 'video', contentType: 'video/quicktime', ext: 'mov' };
    if (/^(isom|iso[2-9]|mp4[12]|avc1|M4V |dash|mmp4)$/.test(brand))
      return { kind: 'video', contentType: 'video/mp4', ext: 'mp4' };
    return undefined;
  }
  if (bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: 'video', contentType: 'video/webm', ext: 'webm' };
  if (ascii(head, 0, 'OggS')) return { kind: 'audio', contentType: 'audio/ogg', ext: 'ogg' };
  if (ascii(head, 0, 'fLaC')) return { kind: 'audio', contentType: 'audio/flac', ext: 'flac' };
  if (ascii(head, 0, 'ID3') || (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe6) === 0xe2))
    return { kind: 'audio', contentType: 'audio/mpeg', ext: 'mp3' };
  return undefined;
}

/** A display name safe to store and show: the last path segment, printable, bounded. */
export function cleanFileName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw : '';
  const base = name.split(/[\\/]/).pop() ?? '';
  return (
    base
      .replace(/[\p{Cc}\p{Cf}<>:"|?*]/gu, '')
      .replace(/^\.+/, '')
      .trim()
      .slice(0, 200) || 'upload'
  );
}
