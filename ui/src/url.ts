/** URLs for reading, not for following. */

/**
 * A declared flake URL as an operator reads it: `?ref=refs%2Ftags%2Fv1.0.0`
 * → `?ref=refs/tags/v1.0.0`. Malformed escapes leave it as it is. Shown as
 * text only; the raw value stays in the title.
 */
export function readableUrl(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}
