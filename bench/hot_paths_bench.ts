/**
 * Benchmarks of the per-request hot paths that run before any I/O: webhook
 * validation, forge signature checks, log redaction and colmena output
 * parsing. Run with `deno task bench`; results and the machine they were
 * taken on are in bench/README.md. Targets live here, not in timed tests.
 */

import { parseWebhook } from "../src/deploy/validate.ts";
import { hmacHex, verifySignature } from "../src/forge/signature.ts";
import { redact } from "../src/log/log.ts";
import { NodeOutcomeParser } from "../src/deploy/colmena.ts";
import { logFrame } from "../src/deploy/sse.ts";
import { deflatePiece } from "../src/http/gzip_stream.ts";
import { constants, deflateRawSync } from "node:zlib";

const schemes = ["github", "gitlab", "sourcehut", "git+https", "git+ssh", "https"];
const body = {
  package: "my-webapp",
  version: "1.4.2",
  nix_store_path: "/nix/store/0c7mpfd5jvsm6mk8z4xfc9f3fdvs1ma9-my-webapp-1.4.2",
  flake_ref:
    "git+https://git.example.com/org/my-webapp?ref=refs/tags/v1.4.2&rev=3f2c1e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e",
};

Deno.bench("parseWebhook() validates a full runner request", { group: "webhook" }, () => {
  parseWebhook(body, schemes);
});

// A typical Forgejo release delivery is 10–30 KB of indented JSON.
const payload = new TextEncoder().encode(
  JSON.stringify({ release: { body: "x".repeat(20_000) } }, null, 2),
);
const secret = "0123456789abcdef0123456789abcdef";
const signature = await hmacHex(secret, payload);

Deno.bench(
  "verifySignature() checks HMAC-SHA256 over a 20 KB delivery",
  { group: "forge" },
  async () => {
    if (!(await verifySignature([secret], payload, signature))) {
      throw new Error(
        "signature refused",
      );
    }
  },
);

const record = {
  time: new Date().toISOString(),
  level: "info",
  msg: "request",
  request_id: crypto.randomUUID(),
  method: "POST",
  path: "/webhook",
  status: 200,
  duration_ms: 12.3,
  headers: { authorization: "Bearer " + "a".repeat(64), "user-agent": "curl/8" },
};

Deno.bench("redact() scrubs one request log record", { group: "log" }, () => {
  redact(record);
});

const lines = Array.from(
  { length: 200 },
  (_, i) => `node-${i % 20} | building /nix/store/…-system-${i}.drv`,
);

Deno.bench("NodeOutcomeParser.feed() parses 200 colmena lines", { group: "colmena" }, () => {
  const p = new NodeOutcomeParser("switch");
  for (const l of lines) p.feed(l);
});

// A published batch of the SSE log stream: 1,000 frames, compressed once for every gzip
// subscriber (src/http/gzip_stream.ts). Level 2 against zlib's default 6, side by side: the
// level must cost well under a millisecond per batch on the server's only thread.
const frames = new TextEncoder().encode(
  Array.from(
    { length: 1000 },
    (_, i) =>
      logFrame(
        i + 1,
        "stderr",
        `alpha | copying path ${i} to alpha...`,
        "2026-11-30T00:00:00.000Z",
      ),
  ).join(""),
);
Deno.bench("deflatePiece() (level 2) compresses 1,000 SSE frames", {
  group: "sse",
  baseline: true,
}, () => {
  deflatePiece(frames);
});
Deno.bench("the same at zlib's default level 6", { group: "sse" }, () => {
  deflateRawSync(frames, { finishFlush: constants.Z_SYNC_FLUSH, level: 6 });
});
