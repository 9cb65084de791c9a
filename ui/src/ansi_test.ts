import assert from "node:assert/strict";
import { parseAnsi, plainText } from "./ansi.ts";

const E = "\x1b";

Deno.test("parseAnsi() turns colmena's bold green label and green text into classes", () => {
  // What colmena's `console` crate writes: colour, then bold, then the text, then a reset.
  assert.deepEqual(
    parseAnsi(`${E}[32m${E}[1malpha${E}[0m | ${E}[32mActivation successful${E}[0m`),
    [
      { text: "alpha", cls: "ab f2" },
      { text: " | ", cls: "" },
      { text: "Activation successful", cls: "f2" },
    ],
  );
});

Deno.test("parseAnsi() reads combined, bright, dim and partial resets", () => {
  assert.deepEqual(parseAnsi(`${E}[1;31merror:${E}[0m boom`), [
    { text: "error:", cls: "ab f1" },
    { text: " boom", cls: "" },
  ]);
  assert.deepEqual(parseAnsi(`${E}[92mok${E}[39m ${E}[2mquiet${E}[22m loud`), [
    { text: "ok", cls: "f10" },
    { text: " ", cls: "" },
    { text: "quiet", cls: "ad" },
    { text: " loud", cls: "" },
  ]);
  // ESC[m is a reset too.
  assert.deepEqual(parseAnsi(`${E}[35ma${E}[mb`), [{ text: "a", cls: "f5" }, {
    text: "b",
    cls: "",
  }]);
});

Deno.test("parseAnsi() drops 256 and true colours with their parameters, and backgrounds", () => {
  // 38;5;1 must not be read as bold (1) or 5; 38;2;… must not leave 2 (dim) behind.
  assert.deepEqual(parseAnsi(`${E}[38;5;196mred${E}[0m`), [{ text: "red", cls: "" }]);
  assert.deepEqual(parseAnsi(`${E}[38;2;1;2;3;1mx`), [{ text: "x", cls: "ab" }]);
  assert.deepEqual(parseAnsi(`${E}[41;33mwarn`), [{ text: "warn", cls: "f3" }]);
});

Deno.test("parseAnsi() strips other sequences and control characters, never markup", () => {
  const line =
    `${E}]0;title${E}\\${E}[2K${E}[1Gbuilding${E}]8;;http://x${E}\\link${E}]8;;${E}\\\r` +
    `\x07 <b>&amp;</b>\tend${E}`;
  assert.deepEqual(parseAnsi(line), [{ text: "buildinglink <b>&amp;</b>\tend", cls: "" }]);
  assert.equal(plainText(line), "buildinglink <b>&amp;</b>\tend");
  assert.equal(plainText("no escapes"), "no escapes");
  assert.deepEqual(parseAnsi(""), []);
});
