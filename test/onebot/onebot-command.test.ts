/** Commands in chat text and the reply text (docs/onebot.md#commands, #replies). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { commandArgs, parseCommand } from "../../plugins/onebot_adapter/onebot-command.ts";
import { errorText, helpText, MAX_REPLY_CHARS, resultText } from "../../plugins/onebot_adapter/onebot-reply.ts";

test("parseCommand: prefix, word and the rest; not a command without the prefix", () => {
  assert.deepEqual(parseCommand("  /greet  Neko the cat ", ["/"]), {
    prefix: "/",
    name: "greet",
    rest: "Neko the cat",
  });
  assert.deepEqual(parseCommand("/help", ["/"]), { prefix: "/", name: "help", rest: "" });
  assert.deepEqual(parseCommand("/say line one\nline two", ["/"]), {
    prefix: "/",
    name: "say",
    rest: "line one\nline two",
  });
  assert.equal(parseCommand("greet Neko", ["/"]), undefined);
  assert.equal(parseCommand("/", ["/"]), undefined);
  assert.equal(parseCommand("/ greet", ["/"]), undefined);
  assert.equal(parseCommand(`/${"x".repeat(65)}`, ["/"]), undefined);
});

test("parseCommand: several prefixes, the longest wins; an empty prefix makes every message a command", () => {
  assert.deepEqual(parseCommand("!!greet x", ["!", "!!"]), { prefix: "!!", name: "greet", rest: "x" });
  assert.deepEqual(parseCommand("!greet x", ["/", "!"]), { prefix: "!", name: "greet", rest: "x" });
  assert.deepEqual(parseCommand("greet x", [""]), { prefix: "", name: "greet", rest: "x" });
});

test("commandArgs: the rest as the text_arg, a JSON object, or nothing", () => {
  const greet = { prefix: "/", name: "greet", rest: "Neko the cat" };
  assert.deepEqual(commandArgs(greet, "name"), { ok: true, args: { name: "Neko the cat" } });
  assert.deepEqual(commandArgs({ ...greet, rest: "" }, "name"), { ok: true, args: {} });
  assert.deepEqual(commandArgs({ ...greet, rest: '{"name": "Neko", "n": 2}' }, undefined), {
    ok: true,
    args: { name: "Neko", n: 2 },
  });
});

test("commandArgs: text without a text_arg, bad JSON or a JSON non-object gets a usage line", () => {
  const usage = '/greet takes its arguments as a JSON object, e.g. /greet {"key": "value"}';
  assert.deepEqual(commandArgs({ prefix: "/", name: "greet", rest: "Neko" }, undefined), { ok: false, usage });
  assert.deepEqual(commandArgs({ prefix: "/", name: "greet", rest: "[1]" }, undefined), { ok: false, usage });
  const bad = commandArgs({ prefix: "/", name: "greet", rest: "{name: 1}" }, undefined);
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.usage : "", /^\/greet takes its arguments as a JSON object.*\(.*JSON.*\)$/);
});

test("resultText: a string as is, an object's message or text, else compact JSON; nothing for null", () => {
  assert.equal(resultText("hi"), "hi");
  assert.equal(resultText({ message: "Hello, Neko!", count: 1 }), "Hello, Neko!");
  assert.equal(resultText({ text: "t", other: 1 }), "t");
  assert.equal(resultText({ sum: 3, parts: [1, 2] }), '{"sum":3,"parts":[1,2]}');
  assert.equal(resultText([1, 2]), "[1,2]");
  assert.equal(resultText(7), "7");
  assert.equal(resultText(null), undefined);
  assert.equal(resultText(undefined), undefined);
  const long = resultText("x".repeat(MAX_REPLY_CHARS + 10)) ?? "";
  assert.equal(long.length, MAX_REPLY_CHARS);
  assert.ok(long.endsWith("…"));
});

test("errorText: the entry's own code before the gateway's, one line, no stack", () => {
  assert.equal(
    errorText({ code: "invoke_failed", message: "name cannot be empty", details: { code: "EMPTY_NAME" } }),
    "Error (EMPTY_NAME): name cannot be empty",
  );
  assert.equal(
    errorText({ code: "policy_denied", message: "rate limit\n    at Object.<anonymous> (/x.ts:1:1)" }),
    "Error (policy_denied): rate limit",
  );
});

test("helpText: one line, with the unknown command when there is one", () => {
  assert.equal(
    helpText({ unknown: "/nope", commands: ["/greet <name>", "/help"] }),
    "Unknown command /nope. Commands: /greet <name>, /help",
  );
  assert.equal(helpText({ commands: [] }), "No commands are configured.");
});
