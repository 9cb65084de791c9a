/**
 * The colours of a log line, for the log view under the strict CSP (no
 * innerHTML, no style attributes): ANSI SGR sequences become class names —
 * the 8 and 16 foreground colours (`f0`…`f15`), bold (`ab`) and dim (`ad`);
 * style.css gives each class a colour readable on the log's dark
 * background. Everything else is dropped: background, 256 and true colours
 * (their parameters are skipped, not misread as other codes), cursor moves,
 * OSC titles and links, and stray control characters (a carriage return of
 * a progress bar included). The text is only ever set as text.
 */

export interface Segment {
  text: string;
  /** Space-separated class names; "" for plain text. */
  cls: string;
}

// CSI (ESC [ params intermediates final), OSC (ESC ] … BEL or ESC \), any other ESC + one
// character, and C0 controls but tab.
const ESCAPES =
  // deno-lint-ignore no-control-regex
  /\x1b(?:\[([0-9;:?<=>]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~]?)|[\x00-\x08\x0a-\x1f\x7f]/g;

export function parseAnsi(line: string): Segment[] {
  const out: Segment[] = [];
  let fg = -1;
  let bold = false;
  let dim = false;
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const cls = [bold && "ab", dim && "ad", fg >= 0 && `f${fg}`].filter(Boolean).join(" ");
    const prev = out[out.length - 1];
    if (prev && prev.cls === cls) prev.text += text;
    else out.push({ text, cls });
  };
  for (const m of line.matchAll(ESCAPES)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== "m") continue;
    const ps = (m[1] || "0").split(/[;:]/);
    for (let i = 0; i < ps.length; i++) {
      const n = Number(ps[i] || 0);
      if (n === 0) [fg, bold, dim] = [-1, false, false];
      else if (n === 1) bold = true;
      else if (n === 2) dim = true;
      else if (n === 22) bold = dim = false;
      else if (n >= 30 && n <= 37) fg = n - 30;
      else if (n >= 90 && n <= 97) fg = n - 82;
      else if (n === 39) fg = -1;
      // 38;5;N and 48;5;N, 38;2;R;G;B and 48;2;R;G;B: dropped with their parameters.
      else if (n === 38 || n === 48) i += ps[i + 1] === "5" ? 2 : ps[i + 1] === "2" ? 4 : 0;
    }
  }
  push(line.slice(last));
  return out;
}

/** The line as text, without any escape sequence or control character. */
export function plainText(line: string): string {
  return line.replace(ESCAPES, "");
}
