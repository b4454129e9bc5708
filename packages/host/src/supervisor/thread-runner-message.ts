/**
 * What the thread runner (the SDK's bin/plugin-thread-runner.mjs) reports to the host on its IPC channel, checked
 * before the host acts on it: a runner is the host's own child, but a message it cannot use is logged and dropped,
 * never trusted.
 */
export type RunnerMessage =
  | { type: "started"; id: string; threadId: number }
  | { type: "output"; id: string; stream: "stdout" | "stderr"; chunk: string }
  | { type: "exit"; id: string; code: number | null; reason?: string }
  | { type: "pong"; seq: number }
  | { type: "bad_message"; reason: string };

/** The message, or what is wrong with it. */
export function parseRunnerMessage(value: unknown): RunnerMessage | string {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "not an object";
  const m = value as Record<string, unknown>;
  const id = typeof m.id === "string" && m.id.length > 0 ? m.id : undefined;
  switch (m.type) {
    case "started":
      if (id === undefined || !Number.isInteger(m.threadId)) return "started: needs an id and an integer threadId";
      return { type: "started", id, threadId: m.threadId as number };
    case "output":
      if (id === undefined || (m.stream !== "stdout" && m.stream !== "stderr") || typeof m.chunk !== "string") {
        return "output: needs an id, a stream (stdout or stderr) and a string chunk";
      }
      return { type: "output", id, stream: m.stream, chunk: m.chunk };
    case "exit":
      if (id === undefined || !(m.code === null || Number.isInteger(m.code))) {
        return "exit: needs an id and an integer or null code";
      }
      if (m.reason !== undefined && typeof m.reason !== "string") return "exit: reason must be a string";
      return {
        type: "exit",
        id,
        code: m.code as number | null,
        ...(typeof m.reason === "string" && { reason: m.reason }),
      };
    case "pong":
      return Number.isInteger(m.seq) ? { type: "pong", seq: m.seq as number } : "pong: needs an integer seq";
    case "bad_message":
      return typeof m.reason === "string" ? { type: "bad_message", reason: m.reason } : "bad_message: needs a reason";
    default:
      return `unknown message type ${JSON.stringify(String(m.type)).slice(0, 80)}`;
  }
}
