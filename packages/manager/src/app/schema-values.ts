/**
 * The values side of the generated forms, apart from their drawing: a plugin's schema made safe to draw (keywords of
 * the wrong type dropped, nesting bounded — a plugin's schema is not trusted to be well formed), the starting value
 * of a schema, the server's field errors by dot path, and own-property reads and writes, so a property named
 * `__proto__` or `constructor` is a field like any other.
 */
import type { JsonSchema } from "./api-types.ts";

/** Deeper than this, a field is edited as JSON text rather than as nested groups. */
export const MAX_FORM_DEPTH = 12;
/** A schema with more properties or enum values than this is cut to it (the rest is edited as JSON). */
export const MAX_FORM_ITEMS = 200;

/**
 * A copy of `raw` with only well-typed keywords, or `null` when it is not a schema. `true` (anything goes) is a field
 * edited as JSON; `false` (nothing goes) is no field at all.
 */
export function safeSchema(raw: unknown, depth = 0): JsonSchema | null {
  if (raw === true) return {};
  if (!isRecord(raw)) return null;
  const out: JsonSchema = {};
  const text = (key: "title" | "description" | "format") => {
    if (typeof raw[key] === "string") out[key] = raw[key] as string;
  };
  text("title");
  text("description");
  text("format");
  if (typeof raw.type === "string") out.type = raw.type;
  else if (Array.isArray(raw.type) && raw.type.every((t) => typeof t === "string")) out.type = raw.type as string[];
  for (const key of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxLength"] as const) {
    if (typeof raw[key] === "number" && Number.isFinite(raw[key])) out[key] = raw[key] as number;
  }
  // A default the field's own control cannot show would be sent unseen: it is left out.
  if (Object.hasOwn(raw, "default") && fitsType(raw.default, out)) out.default = raw.default;
  if (Array.isArray(raw.enum)) out.enum = raw.enum.slice(0, MAX_FORM_ITEMS);
  if (Array.isArray(raw.required)) out.required = raw.required.filter((r): r is string => typeof r === "string");
  if (typeof raw.additionalProperties === "boolean") out.additionalProperties = raw.additionalProperties;
  // Past the depth bound the children are left out: the field is then edited as JSON.
  if (depth >= MAX_FORM_DEPTH) return { ...out, type: undefined, properties: undefined };
  if (isRecord(raw.properties)) {
    const properties: Record<string, JsonSchema> = Object.create(null);
    for (const [key, child] of Object.entries(raw.properties).slice(0, MAX_FORM_ITEMS)) {
      const safe = safeSchema(child, depth + 1);
      if (safe) properties[key] = safe;
    }
    out.properties = properties;
  }
  if (raw.items !== undefined) {
    const items = safeSchema(raw.items, depth + 1);
    if (items) out.items = items;
  }
  return out;
}

function fitsType(value: unknown, schema: JsonSchema): boolean {
  switch (typeOf(schema)) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isRecord(value);
    default:
      return true;
  }
}

/** The type a control is chosen by: the first non-null one, or `object` for a schema with properties. */
export function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null");
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  return undefined;
}

/** The value a schema starts with: its default, else its properties' defaults (an object), else nothing. */
export function initialValue(schema: JsonSchema | null | undefined): unknown {
  if (!schema) return {};
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (typeOf(schema) !== "object") return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const value = initialValue(child);
    const emptyGroup = isRecord(value) && Object.keys(value).length === 0;
    if (value !== undefined && !emptyGroup) setOwn(out, key, value);
  }
  return out;
}

/** An empty value to start a new list item with: something the item's control can show and the user can change. */
export function newItemValue(schema: JsonSchema): unknown {
  const initial = initialValue(schema);
  if (initial !== undefined) return initial;
  switch (typeOf(schema)) {
    case "string":
      return schema.enum?.find((v) => typeof v === "string") ?? "";
    case "integer":
    case "number":
      return schema.minimum ?? 0;
    case "boolean":
      return false;
    case "array":
      return [];
    default:
      return schema.enum?.[0] ?? {};
  }
}

/** `details.issues` of a VALIDATION_ERROR (`field` a dot path, or `path` an array) as errors by field. */
export function fieldErrorsOf(details: unknown): Map<string, string> {
  const errors = new Map<string, string>();
  const issues = isRecord(details) ? details.issues : undefined;
  if (!Array.isArray(issues)) return errors;
  for (const issue of issues) {
    if (!isRecord(issue) || typeof issue.message !== "string") continue;
    const field =
      typeof issue.field === "string" ? issue.field : Array.isArray(issue.path) ? issue.path.join(".") : null;
    if (field !== null && !errors.has(field)) errors.set(field, issue.message);
  }
  return errors;
}

export function getOwn(record: unknown, key: string): unknown {
  return isRecord(record) && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** `record[key] = value` that never reaches a prototype (a field named `__proto__` is an own property). */
export function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A DOM id for a field: the form's prefix and the field's keys, each written with `idSafe` and joined by `-`, so two
 * fields never share an id (not even a key `a.b` and a key `b` inside `a`), and the `--hint` / `--error` suffixes never
 * meet another field's id.
 */
export function fieldId(formId: string, keys: readonly string[]): string {
  return `${formId}-f-${keys.map(idSafe).join("-") || "root"}`;
}

/** `text` with every character but a letter or digit written as `_<hex>_`: different texts stay different. */
export function idSafe(text: string): string {
  return [...text].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `_${c.codePointAt(0)!.toString(16)}_`)).join("");
}
