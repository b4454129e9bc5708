/** OneBot v11 events read by the adapter (docs/onebot.md#events): message events checked field by field, others ignored. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { messageText, parseOneBotEvent } from "../../plugins/onebot_adapter/onebot-event.ts";

const privateMessage = {
  time: 1_700_000_000,
  self_id: 10001,
  post_type: "message",
  message_type: "private",
  sub_type: "friend",
  message_id: 42,
  user_id: 20002,
  message: "/greet Neko",
  raw_message: "/greet Neko",
  font: 0,
  sender: { user_id: 20002, nickname: "neko" },
};

test("a private message event is read with its ids", () => {
  assert.deepEqual(parseOneBotEvent(privateMessage), {
    kind: "message",
    event: { messageType: "private", selfId: 10001, userId: 20002, messageId: "42", message: "/greet Neko" },
  });
});

test("a group message needs its group_id; ids given as digit strings are read as numbers", () => {
  const group = { ...privateMessage, message_type: "group", group_id: "30003", user_id: "20002" };
  const parsed = parseOneBotEvent(group);
  assert.equal(parsed.kind, "message");
  assert.equal(parsed.kind === "message" && parsed.event.groupId, 30003);
  assert.equal(parsed.kind === "message" && parsed.event.userId, 20002);
  const { group_id: _, ...withoutGroup } = group;
  assert.deepEqual(parseOneBotEvent(withoutGroup), {
    kind: "invalid",
    problem: "a group message needs 'group_id' (an integer), not missing",
  });
});

test("a message as a segment array is kept; raw_message stands in for a missing message", () => {
  const segments = [
    { type: "at", data: { qq: "10001" } },
    { type: "text", data: { text: " /greet Neko" } },
  ];
  const parsed = parseOneBotEvent({ ...privateMessage, message: segments });
  assert.deepEqual(parsed.kind === "message" && parsed.event.message, segments);
  const { message: _, ...raw } = privateMessage;
  assert.equal(parseOneBotEvent(raw).kind, "message");
});

test("other post types are well-formed events the adapter ignores", () => {
  const heartbeat = { post_type: "meta_event", meta_event_type: "heartbeat", self_id: 10001, interval: 5000 };
  assert.deepEqual(parseOneBotEvent(heartbeat), { kind: "ignored", postType: "meta_event" });
  assert.deepEqual(parseOneBotEvent({ post_type: "notice", notice_type: "group_increase" }), {
    kind: "ignored",
    postType: "notice",
  });
  assert.deepEqual(parseOneBotEvent({ ...privateMessage, post_type: "message_sent" }), {
    kind: "ignored",
    postType: "message_sent",
  });
});

test("what is not an event says why", () => {
  const problems = [
    [[1, 2], "the event must be a JSON object"],
    [{ message: "hi" }, "'post_type' must be a non-empty string"],
    [{ ...privateMessage, message_type: "channel" }, `'message_type' must be "private" or "group", not "channel"`],
    [{ ...privateMessage, user_id: -5 }, "'user_id' must be a QQ id (an integer), not -5"],
    [{ ...privateMessage, self_id: undefined }, "'self_id' must be a QQ id (an integer), not missing"],
    [{ ...privateMessage, message: 5 }, "'message' must be a string or an array of segments, not 5"],
    [{ ...privateMessage, message: [{ data: {} }] }, "'message[0]' must be a segment { type, data }"],
    [{ ...privateMessage, message: [{ type: "text", data: "x" }] }, "'message[0].data' must be an object"],
    [{ ...privateMessage, message_id: { id: 1 } }, `'message_id' must be a number or a string, not {"id":1}`],
  ] as const;
  for (const [event, problem] of problems) assert.deepEqual(parseOneBotEvent(event), { kind: "invalid", problem });
});

test("messageText: CQ codes dropped and escapes read back; only text segments of an array", () => {
  assert.equal(messageText("[CQ:at,qq=10001] /say &#91;a&#93; &amp; b&#44; c"), " /say [a] & b, c");
  assert.equal(
    messageText([
      { type: "reply", data: { id: "7" } },
      { type: "text", data: { text: "/greet " } },
      { type: "face", data: { id: "1" } },
      { type: "text", data: { text: "Neko" } },
    ]),
    "/greet Neko",
  );
});
