/** Terminal output for CLI commands (the server itself logs JSON instead). */

const enc = new TextEncoder();

export function out(text: string) {
  Deno.stdout.writeSync(enc.encode(text.endsWith("\n") ? text : text + "\n"));
}

export function err(text: string) {
  Deno.stderr.writeSync(enc.encode(text.endsWith("\n") ? text : text + "\n"));
}
