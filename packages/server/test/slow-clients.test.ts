/**
 * Slow and odd clients against a listening server, over raw sockets (SPEC §5: "header and body timeouts bound slow
 * clients", every error body is JSON): half-sent headers and bodies are cut after their timeouts (short ones, set
 * for the test) before any token check, idle keep-alive connections are closed, connections past the cap are
 * refused, and 431, 400, 503 and 413 come as `{ error: { code, message, details } }` — the 413 after the whole
 * 20 MiB upload was read, so the client gets the answer and no EPIPE.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { type ClientLimits, createPluginServer } from "../src/index.ts";
import { fakeHost } from "./support/fake-host.ts";
import { type RawAnswer, RawConnection } from "./support/raw-http.ts";

const TOKEN = "s3cret";
const SHORT: Partial<ClientLimits> = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 600,
  keepAliveTimeoutMs: 300,
  timeoutCheckIntervalMs: 50,
};

async function listening(limits: Partial<ClientLimits>, host: PluginHostApi = fakeHost({ ok: true, value: {} })) {
  const app = await createPluginServer({ host, apiToken: TOKEN, limits });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  return { app, port };
}

function request(port: number, head: string[], body = ""): string {
  return [...head, `Host: 127.0.0.1:${port}`, `Authorization: Bearer ${TOKEN}`, "", body].join("\r\n");
}

function assertError(answer: RawAnswer | undefined, status: number, code: string): RawAnswer {
  assert.ok(answer, "an answer arrived");
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers["content-type"] ?? "", /^application\/json/);
  assert.equal(answer.json?.error?.code, code, answer.text);
  assert.equal(typeof answer.json.error.message, "string");
  assert.ok("details" in answer.json.error);
  return answer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("slow clients, with short timeouts", () => {
  let app: FastifyInstance;
  let port: number;
  const open: RawConnection[] = [];
  const connect = async () => {
    const connection = await RawConnection.open(port);
    open.push(connection);
    return connection;
  };

  before(async () => {
    ({ app, port } = await listening(SHORT));
  });
  after(async () => {
    for (const connection of open) connection.destroy();
    await app.close();
  });

  test("headers trickled a byte at a time are cut after the headers timeout, before any token check", async () => {
    const slow = await connect();
    const started = Date.now();
    await slow.write(`GET /plugins HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
    for (let i = 0; i < 40 && !slow.closed; i++) {
      await slow.write("a");
      await sleep(50);
    }
    assert.ok(await slow.closesWithin(3_000), "the server closed the connection");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 2_000, `closed after ${elapsed} ms`);
    const [answer] = await slow.answers();
    const { json } = assertError(answer, 408, "REQUEST_TIMEOUT");
    assert.deepEqual(json.error.details, { headers_timeout_ms: 300, request_timeout_ms: 600 });
    assert.equal(answer.headers.connection, "close");
  });

  test("a body sent a byte at a time is cut after the request timeout", async () => {
    const slow = await connect();
    const started = Date.now();
    const head = ["POST /plugin/trigger HTTP/1.1", "Content-Type: application/json", "Content-Length: 1000"];
    await slow.write(request(port, head, '{"plugin_id":"p",'));
    for (let i = 0; i < 40 && !slow.closed; i++) {
      await slow.write(" ");
      await sleep(50);
    }
    assert.ok(await slow.closesWithin(3_000));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 550 && elapsed < 2_500, `closed after ${elapsed} ms`);
    assertError((await slow.answers())[0], 408, "REQUEST_TIMEOUT");
  });

  test("a connection that never sends a byte is closed after the headers timeout", async () => {
    const silent = await connect();
    assert.ok(await silent.closesWithin(3_000));
  });

  test("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const idle = await connect();
    await idle.write(request(port, ["GET /health HTTP/1.1", "Connection: keep-alive"]));
    const [answer] = await idle.answers();
    assert.equal(answer?.status, 200);
    assert.equal(answer?.json.status, "ok");
    const answered = Date.now();
    assert.ok(await idle.closesWithin(3_000), "closed while idle");
    const elapsed = Date.now() - answered;
    assert.ok(elapsed >= 200, `closed after ${elapsed} ms idle`);
  });
});

describe("odd input, with the default limits", () => {
  let app: FastifyInstance;
  let port: number;
  const open: RawConnection[] = [];
  const connect = async () => {
    const connection = await RawConnection.open(port);
    open.push(connection);
    return connection;
  };

  before(async () => {
    ({ app, port } = await listening({}));
  });
  after(async () => {
    for (const connection of open) connection.destroy();
    await app.close();
  });

  test("headers over 16 KiB are 431 HEADERS_TOO_LARGE", async () => {
    const big = await connect();
    await big.write(request(port, ["GET /health HTTP/1.1", `X-Big: ${"a".repeat(20_000)}`]));
    const answer = assertError((await big.answers())[0], 431, "HEADERS_TOO_LARGE");
    assert.deepEqual(answer.json.error.details, { limit: 16_384 });
    assert.ok(await big.closesWithin(2_000));
  });

  test("malformed HTTP is 400 BAD_REQUEST, naming the parser's reason", async () => {
    const attempts = [
      "GARBAGE\r\n\r\n",
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: abc\r\n\r\n`,
      // A smuggling attempt: two lengths that disagree.
      `POST /plugin/trigger HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nBad Header: x\r\n\r\n`,
    ];
    for (const text of attempts) {
      const bad = await connect();
      await bad.write(text);
      const answer = assertError((await bad.answers())[0], 400, "BAD_REQUEST");
      assert.equal(answer.json.error.message, "the request is not valid HTTP/1.1");
      assert.match(answer.json.error.details.reason, /^HPE_/, JSON.stringify(text));
      assert.ok(await bad.closesWithin(2_000));
    }
  });

  test("a 20 MiB upload gets the 413 JSON after it was read, with no EPIPE (Content-Length and chunked)", async () => {
    const body = Buffer.alloc(20 * 1024 * 1024, "a");
    const head = ["POST /plugin/trigger HTTP/1.1", "Content-Type: application/json"];

    const sized = await connect();
    await sized.write(request(port, [...head, `Content-Length: ${body.length}`]));
    await sized.write(body);
    const [answer] = await sized.answers(1, 20_000);
    assertError(answer, 413, "PAYLOAD_TOO_LARGE");
    assert.deepEqual(answer?.json.error.details, { limit: 1_048_576 });
    assert.equal(answer?.headers.connection, "close");
    assert.ok(await sized.closesWithin(5_000));
    assert.equal(sized.error, undefined, "the client could send its whole body");

    const chunked = await connect();
    await chunked.write(request(port, [...head, "Transfer-Encoding: chunked"]));
    for (let i = 0; i < 20; i++) {
      await chunked.write(`${(1024 * 1024).toString(16)}\r\n`);
      await chunked.write(body.subarray(0, 1024 * 1024));
      await chunked.write("\r\n");
    }
    await chunked.write("0\r\n\r\n");
    assertError((await chunked.answers(1, 20_000))[0], 413, "PAYLOAD_TOO_LARGE");
    assert.ok(await chunked.closesWithin(5_000));
    assert.equal(chunked.error, undefined);
  });

  test("fetch of a 20 MiB body resolves with the 413 answer", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/plugin/trigger`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: Buffer.alloc(20 * 1024 * 1024, "a"),
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as any).error.code, "PAYLOAD_TOO_LARGE");
  });
});

describe("connection cap and shutdown", () => {
  test("connections past the cap are closed at once; a freed slot serves again", async () => {
    const { app, port } = await listening({
      ...SHORT,
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      maxConnections: 3,
    });
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const connection = await RawConnection.open(port);
        held.push(connection);
        await connection.write("GET /health HTTP/1.1\r\n");
      }
      await sleep(100);
      const refused: RawConnection[] = [];
      for (let i = 0; i < 5; i++) refused.push(await RawConnection.open(port));
      for (const connection of refused) {
        assert.ok(await connection.closesWithin(2_000), "an excess connection is closed");
        assert.equal(connection.bytesReceived, 0, "and is answered nothing");
      }
      for (const connection of held) assert.equal(connection.closed, false, "the held ones stay open");

      held[0].destroy();
      let answer: RawAnswer | undefined;
      for (let attempt = 0; attempt < 50 && answer?.status !== 200; attempt++) {
        const next = await RawConnection.open(port);
        held.push(next);
        await next.write(request(port, ["GET /health HTTP/1.1", "Connection: close"]));
        [answer] = await next.answers(1, 2_000);
        if (answer?.status !== 200) await sleep(20);
      }
      assert.equal(answer?.status, 200, "a slot freed by a closed connection serves again");
    } finally {
      for (const connection of held) connection.destroy();
      await app.close();
    }
  });

  test("a request arriving while the server closes is 503 SHUTTING_DOWN, and the connection closes", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let called = false;
    const host = fakeHost(
      { ok: true, value: 1 },
      {
        runs: {
          execute: async () => {
            called = true;
            await gate;
            return { runId: "run-1", result: { ok: true, value: 1 } };
          },
        } as unknown as PluginHostApi["runs"],
      },
    );
    const { app, port } = await listening(SHORT, host);
    const connection = await RawConnection.open(port);
    try {
      const body = '{"plugin_id":"p","entry_id":"e"}';
      const head = [
        "POST /plugin/trigger HTTP/1.1",
        "Content-Type: application/json",
        `Content-Length: ${body.length}`,
      ];
      await connection.write(request(port, head, body));
      for (let i = 0; i < 100 && !called; i++) await sleep(10);
      assert.ok(called, "the first request is in flight");
      const closing = app.close();
      await sleep(50);
      await connection.write(request(port, ["GET /health HTTP/1.1"]));
      await sleep(50);
      release();
      const answers = await connection.answers(2);
      assert.equal(answers[0]?.status, 200, "the request in flight is answered");
      const refused = assertError(answers[1], 503, "SHUTTING_DOWN");
      assert.equal(refused.json.error.message, "the server is shutting down");
      assert.equal(refused.headers.connection, "close");
      assert.ok(await connection.closesWithin(2_000));
      await closing;
    } finally {
      release();
      connection.destroy();
      await app.close();
    }
  });
});
