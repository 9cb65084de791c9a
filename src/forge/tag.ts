/**
 * What a tag named in a forge delivery must be before despacito acts on it:
 * the same limits as a webhook `version` (at most 128 characters, no
 * whitespace or control characters) plus what makes it safe in a flake
 * reference and on screen: no leading `-` (it would read as an option), no
 * bidi or zero-width characters (a name that displays as another), and a
 * valid git ref name (git check-ref-format). Whether the tag exists is asked
 * of the forge (deliveries.ts). Pure.
 */

/** Control (Cc) and format (Cf: bidi overrides, zero-width) characters, and whitespace. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\s]/u;

/** Why `tag` cannot be deployed, or undefined when it can. */
export function tagProblem(tag: string): string | undefined {
  if (tag === "") return "must not be empty";
  if ([...tag].length > 128) return "at most 128 characters";
  if (INVISIBLE.test(tag)) {
    return "must not contain whitespace, control, bidi or zero-width characters";
  }
  if (tag.startsWith("-")) return "must not start with '-'";
  // git check-ref-format: no "..", "@{", "//", no ~ ^ : ? * [ \, no component starting
  // with "." or ending with ".lock", not ending with "/" or ".", not "@".
  if (
    /\.\.|@\{|\/\/|[~^:?*[\\]/.test(tag) || tag === "@" || /(^|\/)\./.test(tag) ||
    /\.lock(\/|$)/.test(tag) || /[/.]$/.test(tag) || tag.startsWith("/")
  ) {
    return "must be a valid git tag name";
  }
  return undefined;
}

/** A payload value fit for a log line or an ignore reason: visible, short. */
export function shown(v: string, max = 60): string {
  const visible = v.replace(new RegExp(INVISIBLE.source, "gu"), "\uFFFD");
  return [...visible].length > max ? [...visible].slice(0, max).join("") + "…" : visible;
}
