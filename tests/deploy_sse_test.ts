import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { readSse, type SseFrame } from "./_harness/sse.ts";

Deno.test(
  "GET /api/deployments/:id/events resumes from Last-Event-ID without gaps or repeats",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const r = await env.webhook(
        { package: "webapp", version: "1.1.0", nix_store_path: STORE_PATH },
        "?wait=false",
      );
      const { deployment_id: id } = await r.json();
      await env.colmena.waitFor((runs) => runs.length === 1, "colmena to start");

      // First connection: read a few events, then drop it mid-stream.
      const first: SseFrame[] = [];
      const ac1 = new AbortController();
      const res1 = await env.fetch(`/api/deployments/${id}/events`, { signal: ac1.signal });
      assert.equal(res1.headers.get("content-type"), "text/event-stream");
      // fetch asks for gzip: the events below come live through the compressed stream.
      assert.equal(res1.headers.get("content-encoding"), "gzip");
      for await (const f of readSse(res1)) {
        first.push(f);
        if (first.length === 5) break;
      }
      ac1.abort();
      const lastId = first[first.length - 1].id!;

      // Second connection resumes while the deployment still runs; then it finishes live.
      const res2 = await env.fetch(`/api/deployments/${id}/events`, {
        headers: { "Last-Event-ID": lastId },
      });
      const second: SseFrame[] = [];
      let released = false;
      for await (const f of readSse(res2)) {
        second.push(f);
        if (!released) {
          released = true;
          await env.colmena.release();
        }
        if (f.event === "end") break;
      }

      const seqs = [...first, ...second].filter((f) => f.id).map((f) => Number(f.id));
      const max = Math.max(...seqs);
      assert.deepEqual(seqs, Array.from({ length: max }, (_, i) => i + 1), "gap-free, no repeats");
      const [{ seq }] = await env.sql`select seq from deployments where id = ${id}`;
      assert.equal(max, Number(seq));
      const statuses = [...first, ...second].filter((f) => f.event === "status").map((f) =>
        JSON.parse(f.data).status
      );
      // One status event per recorded step change; in order, queued → running… → deployed.
      assert.deepEqual(statuses.filter((s, i) => s !== statuses[i - 1]), [
        "queued",
        "running",
        "deployed",
      ]);
      // The claim, then each step's start with the previous step's end (preflight's, reads only,
      // with flake's; commit's, a local commit, with activate's; an idle verify's with the
      // outcome): claim, flake, activate.
      assert.equal(
        statuses.filter((s) => s === "running").length,
        3,
        "each step is a status event",
      );
      const lastStatus = JSON.parse(second.filter((f) => f.event === "status").at(-1)!.data);
      assert.equal(lastStatus.seq, max);
      assert.equal(second.at(-1)!.event, "end");
      const logFrame = JSON.parse(first.find((f) => f.event === "log")!.data);
      assert.deepEqual(Object.keys(logFrame).sort(), ["at", "line", "seq", "stream"]);

      // After the end, a replay from the query parameter gives the same sequence and ends,
      // compressed or not, frame for frame the same.
      const replay = async (encoding: string) => {
        const res = await env.fetch(`/api/deployments/${id}/events?last_event_id=0`, {
          headers: { "Accept-Encoding": encoding },
        });
        const frames: SseFrame[] = [];
        for await (const f of readSse(res)) frames.push(f);
        return { encoding: res.headers.get("content-encoding"), frames };
      };
      const plain = await replay("identity");
      assert.equal(plain.encoding, null);
      assert.deepEqual(plain.frames.filter((f) => f.id).map((f) => Number(f.id)), seqs);
      assert.equal(plain.frames.at(-1)!.event, "end");
      const gzipped = await replay("br;q=1, gzip;q=0.5");
      assert.equal(gzipped.encoding, "gzip");
      assert.deepEqual(gzipped.frames, plain.frames);
      assert.equal((await replay("gzip;q=0")).encoding, null);
    });
  },
);
