/**
 * What `this.bus.<namespace>.get()` returns: an immutable list of bus records with chainable `filter`, `where`,
 * `whereIn`, `sort` and `limit` (each returns a new list), and `watch()` to follow the same query as records come and go.
 */
import type { BusFilters, BusNamespaceName, BusRecord } from "@neko/protocol";
import type { BusWatcher } from "./bus-watcher.ts";

/** One step of a list's query, replayed by its watchers on every change. */
export type BusListStep =
  | { kind: "filter"; keep: (record: BusRecord) => boolean }
  | { kind: "sort"; compare: (a: BusRecord, b: BusRecord) => number }
  | { kind: "limit"; count: number };

/** Where a list came from: enough for a watcher to ask the host for the same records again. */
export interface BusListOrigin {
  namespace: BusNamespaceName;
  filters: BusFilters;
  revision: number;
  /** The records the host returned, oldest first. */
  base: readonly BusRecord[];
  /** Makes a watcher for a list (absent in lists built by hand, which cannot be watched). */
  openWatcher?: (origin: BusListOrigin, steps: readonly BusListStep[]) => BusWatcher;
}

export class BusRecordList implements Iterable<BusRecord> {
  readonly records: readonly BusRecord[];

  constructor(
    private readonly origin: BusListOrigin,
    private readonly steps: readonly BusListStep[] = [],
  ) {
    this.records = Object.freeze(applyBusListSteps(origin.base, steps));
  }

  get namespace(): BusNamespaceName {
    return this.origin.namespace;
  }

  /** The namespace's revision when the host answered. */
  get revision(): number {
    return this.origin.revision;
  }

  get length(): number {
    return this.records.length;
  }

  [Symbol.iterator](): Iterator<BusRecord> {
    return this.records[Symbol.iterator]();
  }

  toArray(): BusRecord[] {
    return [...this.records];
  }

  first(): BusRecord | undefined {
    return this.records[0];
  }

  filter(keep: (record: BusRecord) => boolean): BusRecordList {
    if (typeof keep !== "function") throw new TypeError("filter(fn): fn must be a function");
    return this.withStep({ kind: "filter", keep });
  }

  /** Keeps records whose fields equal the given values; keys may be paths like `"data.entryId"`. */
  where(fields: Record<string, unknown>): BusRecordList {
    if (typeof fields !== "object" || fields === null) throw new TypeError("where(fields): fields must be an object");
    const pairs = Object.entries(fields);
    return this.withStep({
      kind: "filter",
      keep: (r) => pairs.every(([path, value]) => sameValue(readPath(r, path), value)),
    });
  }

  /**
   * Keeps records whose field (a path like `"data.entryId"`) equals one of `values` (compared as `where` does); an
   * empty `values` keeps none.
   */
  whereIn(field: string, values: readonly unknown[]): BusRecordList {
    if (typeof field !== "string" || field.length === 0)
      throw new TypeError("whereIn(field, values): field must be a path");
    if (!Array.isArray(values)) throw new TypeError("whereIn(field, values): values must be an array");
    // Primitives are looked up in a Set (a long `values` stays cheap); objects are compared one by one.
    const primitives = new Set(values.filter((v) => !isObject(v) && v !== 0));
    const rest = values.filter((v) => isObject(v) || v === 0);
    return this.withStep({
      kind: "filter",
      keep: (r) => {
        const value = readPath(r, field);
        if (!isObject(value) && value !== 0 && primitives.has(value)) return true;
        return rest.some((v) => sameValue(value, v));
      },
    });
  }

  /** Sorts by a field path (numbers and strings; missing values last) or a comparator; stable. */
  sort(by: string | ((a: BusRecord, b: BusRecord) => number), options: { desc?: boolean } = {}): BusRecordList {
    const base =
      typeof by === "function"
        ? by
        : typeof by === "string"
          ? (a: BusRecord, b: BusRecord) => compareValues(readPath(a, by), readPath(b, by))
          : undefined;
    if (!base) throw new TypeError("sort(by): by must be a field path or a comparator function");
    const compare = options.desc ? (a: BusRecord, b: BusRecord) => base(b, a) : base;
    return this.withStep({ kind: "sort", compare });
  }

  limit(count: number): BusRecordList {
    if (!Number.isInteger(count) || count < 0) throw new RangeError("limit(n): n must be a whole number ≥ 0");
    return this.withStep({ kind: "limit", count });
  }

  /** A watcher of this query: `watch().subscribe({ on: "add" }, ({ added, removed, current }) => …)`. */
  watch(): BusWatcher {
    if (!this.origin.openWatcher)
      throw new TypeError("this list was not made by bus.<namespace>.get() and cannot be watched");
    return this.origin.openWatcher(this.origin, this.steps);
  }

  private withStep(step: BusListStep): BusRecordList {
    return new BusRecordList(this.origin, [...this.steps, step]);
  }
}

export function applyBusListSteps(base: readonly BusRecord[], steps: readonly BusListStep[]): BusRecord[] {
  let out = [...base];
  for (const step of steps) {
    if (step.kind === "filter") out = out.filter((r) => step.keep(r));
    else if (step.kind === "sort") out.sort(step.compare);
    else out = out.slice(0, step.count);
  }
  return out;
}

function readPath(record: BusRecord, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function compareValues(a: unknown, b: unknown): number {
  const aMissing = a === undefined || a === null;
  const bMissing = b === undefined || b === null;
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
