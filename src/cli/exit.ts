/**
 * Exit statuses of every command, apart from args.ts: `despacito serve` needs them before it
 * starts, and args.ts brings node:util (parseArgs), which serve never uses — Deno's node:util
 * costs a few ms of CPU on every start (bench/README.md, "start → ready").
 */

export const EXIT = {
  ok: 0,
  /** The operation failed (a deployment failed, the server refused). */
  failed: 1,
  usage: 2,
  /** Not signed in, or signed in but not allowed. */
  auth: 3,
  /** The server could not be reached. */
  unreachable: 4,
} as const;
