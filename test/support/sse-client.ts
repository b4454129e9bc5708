/** A Server-Sent Events reader over fetch, for tests: parses events and comments as they arrive. */

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  /** Set for a comment line (`: …`), such as a heartbeat. */
  comment?: string;
}

export interface SseClient {
  status: number;
  headers: Headers;
  /** Waits for the next item matching `match` (events and comments in order, skipping others). */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves once the server has ended the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal });
  const items: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done: over, value: chunk } = await reader.read();
        if (over) break;
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          items.push(parseBlock(block));
          end = buffer.indexOf("\n\n");
        }
        wake();
      }
    } catch {
      // aborted by close()
    }
    wake();
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    status: res.status,
    headers: res.headers,
    ended,
    close: () => controller.abort(),
    async next(match = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = items.findIndex(match);
        if (index >= 0) return items.splice(0, index + 1)[index];
        if (done) throw new Error("the SSE stream ended before a matching event arrived");
        const left = deadline - Date.now();
        if (left <= 0) throw new Error("timed out waiting for an SSE event");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) event.comment = line.slice(1).trim();
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "data") event.data = event.data === undefined ? value : `${event.data}\n${value}`;
  }
  return event;
}
