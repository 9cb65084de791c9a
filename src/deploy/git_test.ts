import assert from "node:assert/strict";
import { type Executor, runProcess } from "../exec/run.ts";
import { committedSha, gitRepo } from "./git.ts";

const SHA1 = "0123456789abcdef0123456789abcdef01234567";

Deno.test("committedSha() reads the sha of git commit's summary line, or nothing", () => {
  assert.equal(committedSha(`[main ${SHA1}] deploy webapp 1.2.3\n 1 file changed`), SHA1);
  assert.equal(committedSha(`[main (root-commit) ${SHA1}] init\n`), SHA1);
  assert.equal(committedSha(`[detached HEAD ${SHA1}] deploy x 1\n`), SHA1);
  assert.equal(
    committedSha(`[main ${SHA1}${SHA1.slice(0, 24)}] sha256 repo\n`),
    `${SHA1}${SHA1.slice(0, 24)}`,
  );
  assert.equal(committedSha(`[main 0123456] abbreviated\n`), undefined);
  assert.equal(committedSha(""), undefined);
});

Deno.test("gitRepo().commitLock() commits flake.lock alone and returns HEAD without asking rev-parse", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sh = (args: string[]) =>
      runProcess(["git", "-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir });
    await sh(["init", "-q", "-b", "main"]);
    await Deno.writeTextFile(`${dir}/flake.lock`, "{}\n");
    await Deno.writeTextFile(`${dir}/other`, "x\n");
    await sh(["add", "."]);
    await sh(["commit", "-q", "-m", "init"]);
    await Deno.writeTextFile(`${dir}/flake.lock`, '{"v":2}\n');
    await Deno.writeTextFile(`${dir}/other`, "changed\n");
    const argvs: string[][] = [];
    const exec: Executor = (argv, options) => {
      argvs.push(argv);
      return runProcess(argv, options);
    };
    const repo = gitRepo({ exec, gitBin: "git", dir, authorName: "d", authorEmail: "d@localhost" });
    const sha = await repo.commitLock("deploy webapp 1.0.0\n\nDeployment-Id: x\n");
    assert.equal(sha, (await sh(["rev-parse", "HEAD"])).stdout.trim());
    assert.deepEqual(
      argvs.map((a) => a.find((w) => !w.startsWith("-") && w !== "git" && !w.includes("="))),
      ["commit"],
    );
    assert.equal(
      (await sh(["status", "--porcelain"])).stdout,
      " M other\n",
      "only flake.lock was committed",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
