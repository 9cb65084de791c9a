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
    return `| ${name} | ${type} | ${def} | ${o.description.replaceAll("|", "\\|")} |`;
  });
  return ["| Variable | Type | Default | Description |", "|---|---|---|---|", ...rows].join("\n");
}
