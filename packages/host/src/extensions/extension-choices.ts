/**
 * Which extensions were enabled or disabled through the API (`POST /plugin/{ext_id}/extension/enable|disable`), kept
 * in one JSON file in the host's data folder so the choice survives a restart without editing the extension's
 * plugin.toml. A choice overrides the manifest's `[plugin_runtime] enabled`; an unreadable file is set aside and
 * counts as no choices (the manifests decide), never as a reason not to start.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "@neko/plugin-sdk/atomic-write";
import type { HostLogger } from "../host-logger.ts";

export const EXTENSION_CHOICES_FILE = "extensions.json";

interface Choice {
  enabled: boolean;
  /** When it was made (ISO time), for whoever reads the file. */
  at: string;
}

export class ExtensionChoices {
  private readonly choices = new Map<string, Choice>();

  constructor(
    private readonly file: string,
    logger: HostLogger,
  ) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return;
    }
    try {
      const document = JSON.parse(text) as { extensions?: Record<string, Partial<Choice>> };
      for (const [id, choice] of Object.entries(document.extensions ?? {})) {
        if (typeof choice?.enabled === "boolean") {
          this.choices.set(id, { enabled: choice.enabled, at: String(choice.at ?? "") });
        }
      }
    } catch (error) {
      const aside = `${file}.unreadable-${Date.now()}`;
      logger.warn(
        { err: error, file, aside },
        "the extension choices file is not valid JSON: set aside, the manifests decide which extensions are enabled",
      );
      try {
        fs.renameSync(file, aside);
      } catch {
        // Left where it is: it is read again (and set aside again) at the next start.
      }
    }
  }

  static inDataDir(dataDir: string, logger: HostLogger): ExtensionChoices {
    return new ExtensionChoices(path.join(dataDir, EXTENSION_CHOICES_FILE), logger);
  }

  get size(): number {
    return this.choices.size;
  }

  /** The choice made for `id` through the API, if any. */
  get(id: string): boolean | undefined {
    return this.choices.get(id)?.enabled;
  }

  /** Records a choice (undefined: forget it, the manifest decides again) and writes the file before returning. */
  set(id: string, enabled: boolean | undefined): void {
    const next = new Map(this.choices);
    if (enabled === undefined) next.delete(id);
    else next.set(id, { enabled, at: new Date().toISOString() });
    const extensions = Object.fromEntries([...next].sort(([a], [b]) => a.localeCompare(b)));
    // Written first: a choice that could not be kept is not in force either.
    writeFileAtomic(this.file, `${JSON.stringify({ extensions }, null, 2)}\n`);
    this.choices.clear();
    for (const [key, choice] of next) this.choices.set(key, choice);
  }
}
