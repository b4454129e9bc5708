/**
 * Turns a plugin's freezable fields into JSON and back (SPEC §4.6): JSON values, plus `Date`, `Map`, `Set`,
 * `undefined`, `bigint` and non-finite numbers, nested in any way. Those become tagged objects `{ "$neko": tag, … }`;
 * a plain object that itself has a `$neko` key is wrapped so it cannot be mistaken for one. Anything else (a class
 * instance, a function, a cycle) is refused with the path of the value, so a freeze fails loudly instead of losing it.
 */
const TAG = "$neko";

type Tagged =
  | { $neko: "Date"; value: string | null }
  | { $neko: "Map"; entries: [unknown, unknown][] }
  | { $neko: "Set"; values: unknown[] }
  | { $neko: "undefined" }
  | { $neko: "BigInt"; value: string }
  | { $neko: "Number"; value: "NaN" | "Infinity" | "-Infinity" }
  | { $neko: "Object"; value: Record<string, unknown> };

/** The JSON-ready form of `value`; throws a TypeError with the path (from `name`) of a value it cannot keep. */
export function encodeState(value: unknown, name: string): unknown {
  return encode(value, name, new Set());
}

/** The value `encodeState` was given, rebuilt. */
export function decodeState(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(decodeState);
  if (!isPlainObject(json)) return json;
  if (!(TAG in json)) return mapValues(json, decodeState);
  const tagged = json as Tagged;
  switch (tagged.$neko) {
    case "Date":
      return new Date(tagged.value ?? Number.NaN);
    case "Map":
      return new Map(tagged.entries.map(([k, v]) => [decodeState(k), decodeState(v)]));
    case "Set":
      return new Set(tagged.values.map(decodeState));
    case "undefined":
      return undefined;
    case "BigInt":
      return BigInt(tagged.value);
    case "Number":
      return Number(tagged.value);
    case "Object":
      return mapValues(tagged.value, decodeState);
    default:
      throw new TypeError(`unknown state tag '${String((tagged as { $neko: unknown }).$neko)}'`);
  }
}

function encode(value: unknown, at: string, seen: Set<object>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : { [TAG]: "Number", value: String(value) };
    case "undefined":
      return { [TAG]: "undefined" };
    case "bigint":
      return { [TAG]: "BigInt", value: value.toString() };
    case "function":
    case "symbol":
      throw refusal(at, `a ${typeof value}`);
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) throw new TypeError(`${at} cannot be saved: it refers back to itself (a cycle)`);
  seen.add(object);
  try {
    if (Array.isArray(object)) return Array.from(object, (item, i) => encode(item, `${at}[${i}]`, seen));
    if (object instanceof Date) {
      return { [TAG]: "Date", value: Number.isNaN(object.getTime()) ? null : object.toISOString() };
    }
    if (object instanceof Map) {
      return {
        [TAG]: "Map",
        entries: Array.from(object, ([k, v], i) => [
          encode(k, `${at}[map key ${i}]`, seen),
          encode(v, `${at}[map value ${i}]`, seen),
        ]),
      };
    }
    if (object instanceof Set) {
      return { [TAG]: "Set", values: Array.from(object, (v, i) => encode(v, `${at}[set item ${i}]`, seen)) };
    }
    if (!isPlainObject(object)) throw refusal(at, `a ${object.constructor?.name ?? "non-plain object"}`);
    const fields = Object.fromEntries(Object.entries(object).map(([k, v]) => [k, encode(v, `${at}.${k}`, seen)]));
    return TAG in object ? { [TAG]: "Object", value: fields } : fields;
  } finally {
    seen.delete(object);
  }
}

function refusal(at: string, what: string): TypeError {
  return new TypeError(`${at} cannot be saved: it is ${what} (only JSON values, Date, Map and Set are kept)`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function mapValues(object: Record<string, unknown>, fn: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fn(v)]));
}
