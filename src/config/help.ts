/** Renders the option table for `--help`, `help config` and README. */

import { OPTIONS } from "./table.ts";

export function configHelpText(): string {
  const lines = ["Configuration (environment variables):", ""];
  for (const o of OPTIONS) {
    const def = o.default === undefined ? "" : ` (default: ${o.default})`;
    const secret = o.secret ? ` [secret; or ${o.env}_FILE]` : "";
    lines.push(`  ${o.env}${def}${secret}`);
    lines.push(`      ${o.type}${o.values ? `: ${o.values.join("|")}` : ""}. ${o.description}`);
  }
  return lines.join("\n");
}

/** The Markdown table README embeds between its config markers. */
export function configMarkdownTable(): string {
  const rows = OPTIONS.map((o) => {
    const def = o.default === undefined ? "—" : `\`${o.default}\``;
    const name = o.secret ? `\`${o.env}\` (or \`${o.env}_FILE\`)` : `\`${o.env}\``;
    const type = o.values ? `${o.type}: ${o.values.join(", ")}` : o.type;
    return `| ${name} | ${type} | ${def} | ${markdownText(o.description)} |`;
  });
  return ["| Variable | Type | Default | Description |", "|---|---|---|---|", ...rows].join("\n");
}

/**
 * Escapes what Markdown would read as a cell border (everywhere: GFM splits cells even inside code)
 * or as emphasis (`LC_*, … NIX_*`, outside code).
 */
function markdownText(text: string): string {
  return text.split(/(`[^`]*`)/).map((part, i) => i % 2 === 1 ? part : part.replaceAll("*", "\\*"))
    .join("").replaceAll("|", "\\|");
}
