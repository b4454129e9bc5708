/** The adapter's `[onebot]` table and the OneBot keys of its route rules (docs/onebot.md#configuration). */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_ONEBOT_PORT,
  readCommandRules,
  readOneBotSettings,
} from "../../plugins/onebot_adapter/onebot-settings.ts";

test("defaults: loopback, the fixed port, no token, no secret, '/'", () => {
  assert.deepEqual(readOneBotSettings(undefined), {
    host: "127.0.0.1",
    port: DEFAULT_ONEBOT_PORT,
    accessToken: "",
    secret: "",
    commandPrefixes: ["/"],
  });
});

test("every key read; a list of prefixes", () => {
  const table = { host: "0.0.0.0", port: 0, access_token: "t", secret: "s", command_prefix: ["/", "!"] };
  assert.deepEqual(readOneBotSettings(table), {
    host: "0.0.0.0",
    port: 0,
    accessToken: "t",
    secret: "s",
    commandPrefixes: ["/", "!"],
  });
});

test("a wrong value names its key", () => {
  const cases: [unknown, RegExp][] = [
    ["x", /^onebot must be a table/],
    [{ port: 70000 }, /^onebot\.port must be a port number 0–65535/],
    [{ port: "48917" }, /^onebot\.port /],
    [{ host: "" }, /^onebot\.host /],
    [{ access_token: 5 }, /^onebot\.access_token must be a string/],
    [{ command_prefix: [] }, /^onebot\.command_prefix /],
    [{ command_prefix: ["/", 1] }, /^onebot\.command_prefix /],
    [{ acess_token: "typo" }, /^onebot\.acess_token is not a key of it \(known: host, port, access_token/],
  ];
  for (const [table, message] of cases) {
    assert.throws(
      () => readOneBotSettings(table),
      (error: Error & { details?: unknown }) => {
        assert.match(error.message, message);
        assert.equal(error.name, "ValidationError");
        return true;
      },
    );
  }
});

test("command rules: text_arg, drop rules unlisted, patterns matched like the gateway's", () => {
  const rules = readCommandRules([
    { action: "greet", plugin: "hello_world", entry: "greet", text_arg: "name" },
    { action: "mute", route: "drop" },
    { action: "admin_*", plugin: "admin", entry: "run" },
  ]);
  assert.deepEqual(
    rules.map(({ action, textArg, listed }) => ({ action, textArg, listed })),
    [
      { action: "greet", textArg: "name", listed: true },
      { action: "mute", textArg: undefined, listed: false },
      { action: "admin_*", textArg: undefined, listed: true },
    ],
  );
  assert.equal(rules[2]?.matches("admin_reboot"), true);
  assert.equal(rules[2]?.matches("greet"), false);
  assert.deepEqual(readCommandRules(undefined), []);
  assert.throws(() => readCommandRules([{ action: "a" }, { action: "b", text_arg: "two words" }]), {
    message: /^adapter\.routes\[1\]\.text_arg must name an argument/,
  });
});
