/**
 * From a OneBot message to its reply through a real `AdapterGatewayCore` (docs/onebot.md#commands): the request the
 * gateway gets, route rules with `text_arg`, the help line, entry errors and policy refusals as short text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AdapterGatewayCore,
  DefaultPluginInvoker,
  DefaultPolicyEngine,
  DefaultRequestNormalizer,
  DefaultResponseSerializer,
  DefaultRouteEngine,
  type ExternalRequest,
  type PolicyOptions,
  readGatewaySettings,
} from "@neko/plugin-sdk/adapter";
import { Err, Ok, SdkError } from "@neko/plugin-sdk/plugin";
import { OneBotDispatcher } from "../../plugins/onebot_adapter/onebot-dispatcher.ts";
import type { OneBotMessageEvent } from "../../plugins/onebot_adapter/onebot-event.ts";
import { readCommandRules } from "../../plugins/onebot_adapter/onebot-settings.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {}, exception() {} };

const routes = [
  { action: "greet", plugin: "hello_world", entry: "greet", text_arg: "name" },
  { action: "add", plugin: "calc", entry: "add" },
  { action: "quiet", route: "drop" },
  { action: "admin_*", plugin: "admin", entry: "run", text_arg: "command" },
];

function setUp(options: { policy?: PolicyOptions } = {}) {
  const calls: { ref: string; args: Record<string, unknown> }[] = [];
  const invoker = new DefaultPluginInvoker({
    plugins: {
      async callEntry(ref, args) {
        calls.push({ ref, args });
        if (ref === "hello_world:greet") {
          const name = (args.name as string | undefined) ?? "World";
          if (name === "nobody")
            return Err(new SdkError("nobody is not a name\n    at greet (x.ts:1:1)", { code: "UNKNOWN_NAME" }));
          return Ok({ message: `Hello, ${name}!`, count: calls.length });
        }
        if (ref === "calc:add") return Ok({ sum: (args.a as number) + (args.b as number) });
        return Err(new SdkError(`plugin of '${ref}' is not running`, { code: "PLUGIN_NOT_RUNNING" }));
      },
    },
  });
  const seen: ExternalRequest[] = [];
  const core = new AdapterGatewayCore({
    normalizer: new DefaultRequestNormalizer(),
    policyEngine: new DefaultPolicyEngine(options.policy),
    routeEngine: new DefaultRouteEngine({
      rules: readGatewaySettings({ mode: "gateway", priority: 0, routes }).routes,
      hasSelfHandler: (action) => invoker.hasHandler(action),
    }),
    invoker,
    serializer: new DefaultResponseSerializer(),
    logger: silent,
  });
  const dispatcher = new OneBotDispatcher({
    gateway: {
      process(external) {
        seen.push(external);
        return core.process(external);
      },
    },
    prefixes: ["/"],
    rules: readCommandRules(routes),
    selfCommands: ["help"],
  });
  core.handle("help", () => dispatcher.helpLine());
  return { dispatcher, calls, seen };
}

function message(text: string, extra: Partial<OneBotMessageEvent> = {}): OneBotMessageEvent {
  return { messageType: "private", selfId: 10001, userId: 20002, messageId: "77", message: text, ...extra };
}

test("/greet Neko: the rule's text_arg takes the text; the reply is the result's message", async () => {
  const { dispatcher, calls, seen } = setUp();
  assert.equal(await dispatcher.handle(message("/greet Neko the cat")), "Hello, Neko the cat!");
  assert.deepEqual(calls, [{ ref: "hello_world:greet", args: { name: "Neko the cat" } }]);
  assert.deepEqual(seen, [
    {
      protocol: "onebot",
      connectionId: "onebot:10001:20002",
      requestId: "77",
      action: "greet",
      payload: { name: "Neko the cat" },
      metadata: { onebot: { message_type: "private", self_id: 10001, user_id: 20002 } },
    },
  ]);
  assert.equal(await dispatcher.handle(message("/greet")), "Hello, World!");
});

test("a group message, with the bot @-mentioned before the command, in segments", async () => {
  const { dispatcher, seen } = setUp();
  const segments = [
    { type: "at", data: { qq: "10001" } },
    { type: "text", data: { text: " /greet Neko" } },
  ];
  const reply = await dispatcher.handle(message("", { messageType: "group", groupId: 30003, message: segments }));
  assert.equal(reply, "Hello, Neko!");
  assert.deepEqual(seen[0]?.metadata, {
    onebot: { message_type: "group", self_id: 10001, user_id: 20002, group_id: 30003 },
  });
});

test("without a text_arg the text is JSON args, and an object result without message is compact JSON", async () => {
  const { dispatcher, calls } = setUp();
  assert.equal(await dispatcher.handle(message('/add {"a": 1, "b": 2}')), '{"sum":3}');
  assert.equal(
    await dispatcher.handle(message("/add 1 2")),
    '/add takes its arguments as a JSON object, e.g. /add {"key": "value"}',
  );
  assert.equal(calls.length, 1);
});

test("not a command: no reply and no request; a drop rule: no reply", async () => {
  const { dispatcher, seen } = setUp();
  assert.equal(await dispatcher.handle(message("hello there")), undefined);
  assert.equal(seen.length, 0);
  assert.equal(await dispatcher.handle(message("/quiet please")), undefined);
});

test("an unknown command gets the help line; /help lists the commands", async () => {
  const { dispatcher } = setUp();
  assert.equal(
    await dispatcher.handle(message("/nope x")),
    "Unknown command /nope. Commands: /greet <name>, /add, /help",
  );
  assert.equal(await dispatcher.handle(message("/help")), "Commands: /greet <name>, /add, /help");
});

test("an entry's Err and a failed call reach the chat as one line with the most specific code", async () => {
  const { dispatcher } = setUp();
  assert.equal(await dispatcher.handle(message("/greet nobody")), "Error (UNKNOWN_NAME): nobody is not a name");
  assert.equal(
    await dispatcher.handle(message("/admin_reboot now")),
    "Error (PLUGIN_NOT_RUNNING): plugin of 'admin:run' is not running",
  );
});

test("the policy's rate limit per user answers policy_denied", async () => {
  const { dispatcher } = setUp({ policy: { rateLimit: { burst: 1, perSecond: 0.001 } } });
  assert.equal(await dispatcher.handle(message("/greet a")), "Hello, a!");
  assert.match((await dispatcher.handle(message("/greet b"))) ?? "", /^Error \(policy_denied\): rate limit/);
  const other = await dispatcher.handle(message("/greet c", { userId: 20003 }));
  assert.equal(other, "Hello, c!", "another user has a bucket of their own");
});
