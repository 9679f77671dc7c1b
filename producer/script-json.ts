// JSON-LD blocks are data inside an HTML page (producer/structured-data.ts builds them).

/**
 * JSON for a `<script type="application/ld+json">` element: `<`, `>` and `&`
 * escaped so no value can close the element or open a comment (HTML
 * §4.12.1.3), and U+2028/U+2029 for old JavaScript parsers.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
