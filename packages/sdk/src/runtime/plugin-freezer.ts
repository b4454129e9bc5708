/**
 * Freeze and unfreeze inside the plugin process (SPEC §4.6). Owns the class's `static freezable` fields: saves them to
 * the data folder on `freeze`, after the calls that `persist_mode` and the entries' `persist` option choose (and on
 * stop with `"auto"`), puts them back into a new instance right after its constructor — before `startup` — and runs
 * the `unfreeze` lifecycle once `startup` is done. The host stops the process after a successful freeze; see
 * docs/freeze.md.
 */
import fs from "node:fs";
import { type Answer, type EntryDescriptor, ErrorCode } from "@neko/protocol";
import { SdkError } from "../errors.ts";
import type { UnfreezeEvent } from "../lifecycle-events.ts";
import type { PluginLogger } from "../plugin-logger.ts";
import {
  type FrozenStateFile,
  frozenStatePath,
  readFrozenStateFile,
  writeFrozenStateFile,
} from "./frozen-state-file.ts";
import { errResult, type PluginRuntime } from "./plugin-runtime.ts";
import { decodeState, encodeState } from "./state-codec.ts";

export type PersistMode = "off" | "auto" | "manual";

export interface PluginFreezerOptions {
  runtime: PluginRuntime;
  dataDir: string;
  persistMode: PersistMode;
  logger: PluginLogger;
}

export class PluginFreezer {
  /** The names listed by the class's `static freezable`. */
  readonly fields: readonly string[];
  private readonly instance: Record<string, unknown>;
  /** The fields' JSON at the last save, so an entry call that changed nothing writes nothing. */
  private lastSaved: string | undefined;
  /** Set when this process resumed a frozen state: `unfreeze` runs after startup. */
  private resumed: FrozenStateFile | undefined;
  /** After a freeze nothing may overwrite the frozen state (the stop that follows saves no more). */
  private frozen = false;
  private readonly warnedPersist = new Set<string>();

  /** Restores any saved state into the instance and wires freeze, unfreeze and saving after calls into the runtime. */
  static install(options: PluginFreezerOptions): PluginFreezer {
    const freezer = new PluginFreezer(options);
    freezer.restore();
    const { runtime, persistMode } = options;
    runtime.registerControl("freeze", () => freezer.freeze());
    runtime.beforeReady(() => freezer.finishUnfreeze());
    if (persistMode === "off") {
      freezer.warnIgnoredPersist();
      runtime.entries.onChange(() => freezer.warnIgnoredPersist());
    } else {
      runtime.onCallSettled(({ entry }) => {
        if (callSavesState(persistMode, entry)) freezer.saveAfterCall();
      });
    }
    // Only "auto" promises that the latest state survives; "manual" keeps what its persist entries saved.
    if (persistMode === "auto") runtime.onShutdown(() => freezer.saveAfterCall());
    return freezer;
  }

  private constructor(private readonly options: PluginFreezerOptions) {
    this.instance = options.runtime.instance as unknown as Record<string, unknown>;
    this.fields = freezableFields(options.runtime.instance.constructor);
    for (const name of this.fields) {
      if (!(name in this.instance)) {
        options.logger.warn(`freezable field '${name}' is not a field of the plugin; it is saved only once set`);
      }
    }
  }

  /** Saves the fields with the frozen mark; afterwards the host stops the process. */
  private async freeze(): Promise<Answer<{ fields: string[]; file: string }>> {
    const { runtime } = this.options;
    const lifecycle = await runtime.runLifecycle("freeze");
    if (!lifecycle.ok) return lifecycle;
    try {
      this.save(true);
    } catch (error) {
      this.options.logger.exception("freeze could not save the state", error);
      return errResult(
        new SdkError(`freeze could not save the state: ${(error as Error).message}`, { code: ErrorCode.FreezeFailed }),
      );
    }
    this.frozen = true;
    return { ok: true, value: { fields: [...this.fields], file: frozenStatePath(this.options.dataDir) } };
  }

  /** Puts saved fields back: always after a freeze, otherwise unless `persist_mode = "off"` (crash restarts, …). */
  private restore(): void {
    const { dataDir, persistMode, logger } = this.options;
    let state: FrozenStateFile | undefined;
    try {
      state = readFrozenStateFile(dataDir);
    } catch (error) {
      // A damaged file must not keep the plugin from starting; it is kept aside for a person to look at.
      const aside = `${frozenStatePath(dataDir)}.damaged-${Date.now()}`;
      fs.renameSync(frozenStatePath(dataDir), aside);
      logger.exception(`the saved state could not be read; moved to ${aside}, starting without it`, error);
      return;
    }
    if (!state || (!state.frozen && persistMode === "off")) return;
    const restored: string[] = [];
    for (const [name, value] of Object.entries(state.fields)) {
      if (!this.fields.includes(name)) {
        logger.warn(`saved field '${name}' is no longer freezable; ignored`);
        continue;
      }
      this.instance[name] = decodeState(value);
      restored.push(name);
    }
    if (state.frozen) this.resumed = state;
    logger.info(state.frozen ? "unfreezing: state restored" : "state restored", { fields: restored });
  }

  /** After startup of a process that resumed a frozen state: `unfreeze`, then the frozen mark goes. */
  private async finishUnfreeze(): Promise<void> {
    const resumed = this.resumed;
    if (!resumed) return;
    this.resumed = undefined;
    const event: UnfreezeEvent = { fields: Object.keys(resumed.fields), savedAt: resumed.savedAt };
    const result = await this.options.runtime.runLifecycle("unfreeze", event);
    if (!result.ok) this.options.logger.warn(`unfreeze returned an error: ${result.error.message}`);
    if (this.options.persistMode !== "off") this.save(false);
    else fs.rmSync(frozenStatePath(this.options.dataDir), { force: true });
  }

  private saveAfterCall(): void {
    if (this.frozen) return;
    try {
      this.save(false);
    } catch (error) {
      this.options.logger.exception(`could not save the state (persist_mode = ${this.options.persistMode})`, error);
    }
  }

  /** With `persist_mode = "off"`, `persist: true` saves nothing: said once per entry, so the author finds out. */
  private warnIgnoredPersist(): void {
    const ignored = this.options.runtime.entries
      .list({ includeDisabled: true })
      .filter((e) => e.persist === true && !this.warnedPersist.has(e.id))
      .map((e) => e.id);
    if (ignored.length === 0) return;
    for (const id of ignored) this.warnedPersist.add(id);
    const names = ignored.map((id) => `'${id}'`).join(", ");
    const [subject, their] = ignored.length === 1 ? [`entry ${names} has`, "its"] : [`entries ${names} have`, "their"];
    this.options.logger.warn(
      `${subject} persist: true but [plugin_state].persist_mode is off; nothing is saved after ${their} calls`,
      { entries: ignored },
    );
  }

  private save(frozen: boolean): void {
    const fields: Record<string, unknown> = {};
    for (const name of this.fields) {
      if (name in this.instance) fields[name] = encodeState(this.instance[name], name);
    }
    const json = JSON.stringify(fields);
    if (!frozen && json === this.lastSaved) return;
    writeFrozenStateFile(this.options.dataDir, { version: 1, frozen, savedAt: new Date().toISOString(), fields });
    this.lastSaved = json;
  }
}

/**
 * Whether a finished call saves the fields: with `"auto"` every call but those of `persist: false` entries (event
 * handlers and message deliveries included), with `"manual"` only calls of `persist: true` entries, with `"off"` none.
 */
export function callSavesState(mode: PersistMode, entry: Pick<EntryDescriptor, "persist"> | undefined): boolean {
  if (mode === "auto") return entry?.persist !== false;
  if (mode === "manual") return entry?.persist === true;
  return false;
}

/** `[plugin_state].persist_mode` of a manifest the host has validated; `off` when absent. */
export function persistModeOf(manifest: Record<string, unknown>): PersistMode {
  const mode = (manifest.plugin_state as { persist_mode?: unknown } | undefined)?.persist_mode;
  return mode === "auto" || mode === "manual" ? mode : "off";
}

/** `static freezable` of the class (inherited like any static); a wrong shape stops the plugin from loading. */
function freezableFields(cls: unknown): string[] {
  const declared = (cls as { freezable?: unknown }).freezable;
  if (declared === undefined) return [];
  if (!Array.isArray(declared) || !declared.every((name) => typeof name === "string" && name !== "")) {
    throw new TypeError("static freezable must be an array of field names, e.g. ['counter', 'items']");
  }
  return [...new Set(declared as string[])];
}
