import assert from "node:assert/strict";
import { hex, isUuid, sha256Hex } from "./ids.ts";

Deno.test("isUuid() accepts a UUID in either case and refuses anything else", () => {
  assert.ok(isUuid("0b0e5d8e-6a4c-4c1e-9f3a-2d7b1c5e8f90"));
  assert.ok(isUuid("0B0E5D8E-6A4C-4C1E-9F3A-2D7B1C5E8F90"));
  for (const bad of ["", "0b0e5d8e", "0b0e5d8e-6a4c-4c1e-9f3a-2d7b1c5e8f9", "x".repeat(36)]) {
    assert.equal(isUuid(bad), false, bad);
  }
  assert.equal(isUuid("0b0e5d8e-6a4c-4c1e-9f3a-2d7b1c5e8f90' or 1=1"), false);
});

Deno.test("sha256Hex() and hex() give the standard lower-case digest", async () => {
  assert.equal(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(hex(new Uint8Array([0, 15, 255])), "000fff");
});
