import assert from "node:assert/strict";
import { test } from "node:test";
import { returns } from "@neko/protocol";
import { z } from "zod";
import { createSilentLogger } from "../src/host-logger.ts";
import { HostServices } from "../src/host-services.ts";

/** A small contract of its own: the registry is generic over the map it serves. */
const testContract = {
  requests: {
    echo: { params: z.unknown(), result: returns<unknown>() },
    boom: { params: z.unknown(), result: returns<unknown>() },
    slow: { params: z.unknown(), result: returns<string>() },
  },
  notifications: {},
};

test("requests with a bad method or deadline, unknown methods and throwing handlers are each an Err, never a throw", async () => {
  const services = new HostServices(createSilentLogger(), testContract);
  services.handle("echo", (params) => ({ ok: true, value: params }));
  services.handle("boom", () => {
    throw new Error("kaput");
  });
  const ctx = { pluginId: "p", deadline: Date.now() + 1000 };
  assert.deepEqual(await services.request("echo", { a: 1 }, ctx), { ok: true, value: { a: 1 } });
  const codes = async (method: unknown, deadline: unknown) => {
    const r = await services.request(method as string, {}, { pluginId: "p", deadline: deadline as number });
    return r.ok ? "ok" : r.error.code;
  };
  // A 64-bit integer that reached us as a BigInt, a string, NaN: each is refused by name.
  assert.equal(await codes("echo", BigInt(Date.now() + 1000)), "VALIDATION_ERROR");
  assert.equal(await codes("echo", "tomorrow"), "VALIDATION_ERROR");
  assert.equal(await codes("echo", Number.NaN), "VALIDATION_ERROR");
  assert.equal(await codes(42, Date.now() + 1000), "VALIDATION_ERROR");
  assert.equal(await codes("nope", Date.now() + 1000), "NOT_FOUND");
  assert.equal(await codes("echo", Date.now() - 1), "TIMEOUT");
  const boom = await services.request("boom", {}, ctx);
  assert.equal(boom.ok ? "" : boom.error.code, "INTERNAL_ERROR");
  assert.match(boom.ok ? "" : boom.error.message, /kaput/);
});

test("a request whose deadline is further away than a timer can wait is not cut short", async () => {
  const services = new HostServices(createSilentLogger(), testContract);
  services.handle("slow", async () => {
    await new Promise((r) => setTimeout(r, 50));
    return { ok: true, value: "done" };
  });
  const month = 30 * 86_400_000;
  const result = await services.request("slow", {}, { pluginId: "p", deadline: Date.now() + month });
  assert.deepEqual(result, { ok: true, value: "done" });
});

test("an interceptor answers in place of a method's handler, or passes the call on with next()", async () => {
  const services = new HostServices(createSilentLogger(), testContract);
  services.handle("echo", (params) => ({ ok: true, value: params }));
  const seam = services.intercept("echo", (params, _ctx, next) =>
    (params as { fake?: boolean }).fake ? { ok: true, value: "faked" } : next(),
  );
  assert.throws(() => services.intercept("echo", (_p, _c, next) => next()), /already intercepted/);
  const ctx = { pluginId: "p", deadline: Date.now() + 1000 };
  assert.deepEqual(await services.request("echo", { fake: true }, ctx), { ok: true, value: "faked" });
  assert.deepEqual(await services.request("echo", { a: 1 }, ctx), { ok: true, value: { a: 1 } });
  seam.dispose();
  assert.deepEqual(await services.request("echo", { fake: true }, ctx), { ok: true, value: { fake: true } });
});
