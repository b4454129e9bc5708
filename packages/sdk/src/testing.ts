/**
 * `@neko/plugin-sdk/testing` (docs/testing.md): a plugin's own tests start it in a real process under a throw-away
 * host and call its entries, with fakes for the plugins it calls and for the memory system where wanted.
 *
 * The host is `@neko/host`, loaded when a test starts a plugin: the one place the SDK reaches a layer above it, on
 * purpose (test/layering.test.ts). The host depends on the SDK, so the SDK names it as an optional peer, not a
 * dependency; the framework installs both. What runs in the host is `@neko/host/testing`; this file converts the
 * fakes' answers as a real entry's are converted, so the host sees wire results only.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { WireError, WireResult } from "@neko/protocol";
import { errResult, normalizeResult } from "./wire-result.ts";

/** Stands in for another plugin's entry: gets the caller's args, returns or throws as an entry handler would. */
export type FakeEntry = (args: Record<string, unknown>) => unknown;

/** Stands in for the host memory system (`this.memory`); a method left out is served by the throw-away host's own. */
export interface FakeMemory {
  store?(key: string, value: unknown, options: { bucket: string }): unknown;
  search?(query: string, options: { bucket?: string; limit?: number }): unknown;
  get?(bucket: string, options: { limit?: number }): unknown;
}

export interface TestPluginOptions {
  /** Tables merged over the manifest's own (`[plugin]` excepted), as the plugin's `this.config` reads them. */
  config?: Record<string, unknown>;
  fakes?: {
    /** `"plugin:entry"` → its stand-in; `this.plugins.callEntry` to any other target goes to the host as usual. */
    plugins?: Record<string, FakeEntry>;
    memory?: FakeMemory;
  };
  /**
   * For an extension: the folder of the plugin it extends. Default: a folder named after that plugin beside the
   * extension's, else the one in the framework's own `plugins/`.
   */
  hostPluginDir?: string;
  /** More plugin folders to run in the same host (real targets of the plugin's calls). */
  alongside?: string[];
}

/** What a call answers: the entry's value, or its error as it crossed the wire (`code`, `message`, `name`, `details`). */
export type TestCallResult<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

/** One line the plugin's process logged. */
export interface TestLogLine {
  time: number;
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface TestPlugin extends AsyncDisposable {
  /** The plugin's id (for an extension, the extension's). */
  readonly id: string;
  /** The process it was started in (for an extension, its host plugin's); a crash restart makes another. */
  readonly pid: number;
  /**
   * Calls one of its entries (an extension's by its own id; the prefix is added). Never rejects: an `Err` of the
   * plugin or of the framework (`VALIDATION_ERROR`, `TIMEOUT`, …) comes back as `{ ok: false, error }`.
   */
  call<T = unknown>(
    entryId: string,
    args?: Record<string, unknown>,
    options?: { timeoutMs?: number },
  ): Promise<TestCallResult<T>>;
  /** Everything its process has logged so far. */
  logs(): TestLogLine[];
  /** Stops the process and the host and removes the temporary folder; safe to call twice. */
  stop(): Promise<void>;
}

/** What `@neko/host/testing` is asked: the fakes already answer as wire results. Not for plugin code. */
export interface TestHostRequest {
  dir: string;
  config?: Record<string, unknown>;
  hostPluginDir?: string;
  alongside: string[];
  plugins: Record<string, (args: Record<string, unknown>) => Promise<WireResult>>;
  memory: Partial<Record<"store" | "search" | "get", (params: Record<string, unknown>) => Promise<WireResult>>>;
}

/** What `@neko/host/testing` exports. */
export interface TestHostModule {
  startTestPlugin(request: TestHostRequest): Promise<TestPlugin>;
}

/** Starts the plugin in `dir` in a real process under a throw-away host; rejects with the reason it did not start. */
export async function startTestPlugin(dir: string, options: TestPluginOptions = {}): Promise<TestPlugin> {
  const { fakes = {} } = options;
  const memory = fakes.memory ?? {};
  const request: TestHostRequest = {
    dir: path.resolve(dir),
    config: options.config,
    hostPluginDir: options.hostPluginDir && path.resolve(options.hostPluginDir),
    alongside: (options.alongside ?? []).map((d) => path.resolve(d)),
    plugins: Object.fromEntries(Object.entries(fakes.plugins ?? {}).map(([target, fake]) => [target, answering(fake)])),
    memory: {
      ...(memory.store && {
        store: answering((p) => memory.store?.(p.key as string, p.value, { bucket: p.bucket as string })),
      }),
      ...(memory.search && {
        search: answering((p) =>
          memory.search?.(p.query as string, { bucket: p.bucket as string | undefined, limit: p.limit as number }),
        ),
      }),
      ...(memory.get && {
        get: answering((p) => memory.get?.(p.bucket as string, { limit: p.limit as number })),
      }),
    },
  };
  const host = (await import(pathToFileURL(hostTestingModule()).href)) as TestHostModule;
  return host.startTestPlugin(request);
}

/** Where `@neko/host/testing` is: located beside this SDK, not declared as a dependency (see the top comment). */
function hostTestingModule(): string {
  try {
    return createRequire(import.meta.url).resolve("@neko/host/testing");
  } catch {
    throw new Error("@neko/plugin-sdk/testing needs @neko/host, installed with the framework beside the SDK");
  }
}

/** A fake's answer as a real entry's would be: a value is Ok, a Result stays one, a throw is an Err. */
function answering(fake: (args: Record<string, unknown>) => unknown) {
  return async (args: Record<string, unknown>): Promise<WireResult> => {
    try {
      return normalizeResult(await fake(args));
    } catch (error) {
      return errResult(error);
    }
  };
}
