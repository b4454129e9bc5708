// Typed reading of one table of a parsed plugin.toml. Every read records a problem instead of throwing, so a
// manifest is checked completely in one pass, and the keys read are tracked so unknown keys can be flagged.
import type { ManifestProblem } from "./plugin-manifest.ts";

export type ManifestReport = { file: string; problems: ManifestProblem[]; warnings: ManifestProblem[] };

type NumberRule = { integer?: boolean; positive?: boolean };

export class ManifestTable {
  readonly #report: ManifestReport;
  readonly #values: Record<string, unknown>;
  readonly #read = new Set<string>();
  /** Dotted TOML path of this table, e.g. `plugin.sdk`. */
  readonly #path: string;
  /** How keys of this table are named in messages, e.g. `[plugin.sdk]` or `[[plugin.entries]]#2`. */
  readonly label: string;

  /** The whole document; its keys are named as tables (`[plugin]`). */
  static document(report: ManifestReport, values: Record<string, unknown>): ManifestTable {
    return new ManifestTable({ report, values, path: "", label: "" });
  }

  private constructor(opts: { report: ManifestReport; values: Record<string, unknown>; path: string; label: string }) {
    this.#report = opts.report;
    this.#values = opts.values;
    this.#path = opts.path;
    this.label = opts.label;
  }

  /** How a key of this table is named in messages. */
  key(key: string): string {
    // Keys of the document root are tables themselves: `[plugin]`, `[plugin_runtime]`.
    return this.#path === "" ? `[${key}]` : `${this.label}.${key}`;
  }

  /** Records a problem about `key`; `sentence` continues the key name, e.g. "is required". */
  problem(key: string, sentence: string): void {
    this.#report.problems.push(this.#entry(key, sentence));
  }

  warning(key: string, sentence: string): void {
    this.#report.warnings.push(this.#entry(key, sentence));
  }

  /** The value at `key` as parsed, unchecked (not marked as read). */
  raw(key: string): unknown {
    return this.#values[key];
  }

  /** How many problems the whole manifest has so far. */
  problemCount(): number {
    return this.#report.problems.length;
  }

  has(key: string): boolean {
    return this.#values[key] !== undefined;
  }

  string(key: string, opts: { required?: boolean } = {}): string | undefined {
    return this.#typed(key, "a string", (v) => typeof v === "string", opts.required) as string | undefined;
  }

  boolean(key: string): boolean | undefined {
    return this.#typed(key, "a boolean", (v) => typeof v === "boolean") as boolean | undefined;
  }

  number(key: string, rule: NumberRule = {}): number | undefined {
    const noun = rule.integer ? "integer" : "number";
    const expected = rule.positive ? `a positive ${noun}` : `${rule.integer ? "an" : "a"} ${noun}`;
    const ok = (v: unknown) =>
      typeof v === "number" &&
      Number.isFinite(v) &&
      (!rule.integer || Number.isInteger(v)) &&
      (!rule.positive || v > 0);
    return this.#typed(key, expected, ok) as number | undefined;
  }

  stringArray(key: string): string[] | undefined {
    return this.#array(key, "strings", (item) => typeof item === "string") as string[] | undefined;
  }

  /** A string or an array of strings (the original's `conflicts = "<1"` and `conflicts = ["<1", ">=3"]`), as a list. */
  strings(key: string): string[] | undefined {
    const value = this.#values[key];
    if (typeof value === "string") return [this.string(key) as string];
    if (value !== undefined && !Array.isArray(value)) {
      return this.#typed(key, "a string or an array of strings", () => false) as undefined;
    }
    return this.#array(key, "strings", (item) => typeof item === "string") as string[] | undefined;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
    this.problem(key, `must be one of ${allowed.map((a) => `'${a}'`).join(", ")}, not '${value}'`);
    return undefined;
  }

  /** A plain TOML table value (e.g. an input schema), returned as is. */
  record(key: string): Record<string, unknown> | undefined {
    return this.#typed(key, "a table", isTable) as Record<string, unknown> | undefined;
  }

  /** A sub-table read with the same rules; undefined when absent or not a table. */
  table(key: string, opts: { required?: boolean } = {}): ManifestTable | undefined {
    const values = this.#typed(key, "a table", isTable, opts.required) as Record<string, unknown> | undefined;
    return values === undefined ? undefined : this.#child(key, values);
  }

  /**
   * The sub-table at `key`, or an empty one when it is absent or not a table, so that a required key inside it is
   * reported by its own name (`[plugin.host].plugin_id is required`) rather than by its table's.
   */
  section(key: string): ManifestTable {
    return this.table(key) ?? this.#child(key, {});
  }

  /** An array of tables (`[[path.key]]`); items are labelled `[[path.key]]#1`, `#2`, … */
  tableArray(key: string): ManifestTable[] {
    const items = this.#array(key, "tables", isTable) as Record<string, unknown>[] | undefined;
    return (items ?? []).map((values, index) => this.#child(key, values, index));
  }

  /** Marks keys that are valid here but read by another part of the host. */
  allow(...keys: string[]): void {
    for (const key of keys) this.#read.add(key);
  }

  /** Warns about keys nobody read: almost always a typo that would otherwise be silently ignored. */
  warnUnknownKeys(): void {
    for (const key of Object.keys(this.#values)) {
      if (!this.#read.has(key)) this.warning(key, "is not a known key and is ignored");
    }
  }

  #typed(key: string, expected: string, ok: (value: unknown) => boolean, required = false): unknown {
    this.#read.add(key);
    const value = this.#values[key];
    if (value === undefined) {
      if (required) this.problem(key, "is required");
      return undefined;
    }
    if (ok(value)) return value;
    this.problem(key, `must be ${expected}, not ${describe(value)}`);
    return undefined;
  }

  #array(key: string, itemKind: string, ok: (item: unknown) => boolean): unknown[] | undefined {
    const items = this.#typed(key, `an array of ${itemKind}`, Array.isArray) as unknown[] | undefined;
    const bad = items?.find((item) => !ok(item));
    if (bad === undefined) return items;
    this.problem(key, `must contain only ${itemKind}, not ${describe(bad)}`);
    return undefined;
  }

  #child(key: string, values: Record<string, unknown>, index?: number): ManifestTable {
    const path = this.#path ? `${this.#path}.${key}` : key;
    const label = index === undefined ? `[${path}]` : `[[${path}]]#${index + 1}`;
    return new ManifestTable({ report: this.#report, values, path, label });
  }

  #entry(key: string, sentence: string): ManifestProblem {
    const name = this.key(key);
    return { file: this.#report.file, key: name, message: `${this.#report.file}: ${name} ${sentence}` };
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Names a TOML value's type the way a manifest author thinks of it. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  if (typeof value === "string") return `a string ('${value}')`;
  // A number is shown as written: "must be a positive integer, not -1" says more than its type.
  if (typeof value === "number") return String(value);
  return `a ${typeof value}`;
}
