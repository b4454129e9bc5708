/**
 * Argument validation for entries: JSON Schema through Ajv (compiled once per entry) or a Zod schema.
 * A violation becomes a `ValidationError` whose message names the failing field. The host checks plugins'
 * configSchemas with it too, in the linear-time mode below.
 */
import { createRequire } from "node:module";
import v8 from "node:v8";
import { z } from "@neko/protocol/lazy-zod";
import type { ErrorObject } from "ajv";
import type { Ajv2020 } from "ajv/dist/2020.js";
import type addFormatsModule from "ajv-formats";
import { ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";

// Ajv and its formats are CommonJS, loaded when the first JSON Schema is compiled: a plugin process whose entries have
// no `inputSchema` never loads them (docs/benchmarks.md).
const require = createRequire(import.meta.url);

// addUsedSchema false: an entry's schema is never registered by its `$id`, so two entries (or a dynamic entry
// registered again) may share one without a clash.
function makeAjv(regExp?: (pattern: string, flags: string) => RegExp): Ajv2020 {
  const { Ajv2020 } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  // ajv-formats is CommonJS with a `default` export: the types see the module object, Node the function.
  const formats = require("ajv-formats") as typeof addFormatsModule & { default?: typeof addFormatsModule.default };
  const addFormats = (formats.default ?? formats) as typeof addFormatsModule.default;
  const made = new Ajv2020({
    allErrors: true,
    useDefaults: true,
    strict: false,
    coerceTypes: false,
    addUsedSchema: false,
    // A property named `toString` or `constructor` is read from the arguments themselves, never from Object.prototype.
    ownProperties: true,
    ...(regExp && { code: { regExp: Object.assign(regExp, { code: "linearRegExp" }) } }),
  });
  addFormats(made);
  return made;
}

let fullAjv: Ajv2020 | undefined;
let linearAjv: Ajv2020 | undefined;

function fullEngine(): Ajv2020 {
  fullAjv ??= makeAjv();
  return fullAjv;
}

/**
 * A schema's `pattern` (and `patternProperties`) on V8's linear-time engine: no pattern a plugin sends can make the
 * host backtrack for ever. That engine has no Unicode mode (the `u` flag), backreferences or lookarounds: a pattern
 * that needs them fails to compile, and the schema is refused with the reason.
 */
function linearRegExp(pattern: string, flags: string): RegExp {
  if (/\\[pP]\{|\\u\{/.test(pattern)) {
    throw new SyntaxError(`pattern /${pattern}/ needs Unicode mode, which cannot be executed in linear time`);
  }
  return new RegExp(pattern, `${flags.replace("u", "")}l`);
}

function linearEngine(): Ajv2020 {
  if (!linearAjv) {
    // The engine is behind a V8 flag; it serves only regular expressions made with the `l` flag.
    v8.setFlagsFromString("--enable-experimental-regexp-engine");
    linearAjv = makeAjv(linearRegExp);
  }
  return linearAjv;
}

/**
 * Compiled validators by mode and schema text: Ajv keeps every schema object it compiled, so compiling a fresh copy
 * for each registration of a dynamic entry would grow without bound.
 */
const compiled = new Map<string, ReturnType<Ajv2020["compile"]>>();
/** The host compiles the configSchema each plugin sends: past this many distinct schemas, the cache starts over. */
const MAX_COMPILED = 512;

export type ArgsValidator = (args: unknown) => Result<Record<string, unknown>, ValidationError>;

export interface ValidationIssue {
  field: string;
  message: string;
  /** For an unknown argument name: the closest known one. */
  suggestion?: string;
}

/**
 * Builds the validator for an entry, or undefined when it has no schema. Throws if the schema itself is invalid.
 * `linearPatterns`: for a JSON Schema from another process (the host checking a plugin's configSchema), `pattern`s
 * run in linear time (see `linearRegExp`).
 */
export function compileArgsValidator(
  schema: { inputSchema?: Record<string, unknown>; params?: z.ZodType },
  options: { linearPatterns?: boolean; unknownArgs?: "refuse" | "allow" } = {},
): ArgsValidator | undefined {
  let validator: ArgsValidator | undefined;
  if (schema.params) validator = zodValidator(schema.params);
  else if (schema.inputSchema) validator = jsonSchemaValidator(schema.inputSchema, options.linearPatterns === true);
  if (!validator || options.unknownArgs !== "refuse") return validator;
  const names = argumentNames(describeArgsSchema(schema));
  return names ? refusingUnknown(validator, names) : validator;
}

/** Keywords that make which names an object may have depend on more than its `properties`: no names are refused. */
const OPAQUE_KEYWORDS = [
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependencies",
  "propertyNames",
  "patternProperties",
];
/** `allOf` / `anyOf` / `oneOf` nested deeper than this: no names are refused. */
const MAX_COMBINATOR_DEPTH = 8;

/**
 * The argument names a schema declares, or undefined when it lets other names through or cannot say: an explicit
 * `additionalProperties` other than `false` (`true`, a schema; Zod's `.loose()` / `.passthrough()` / `.catchall()`),
 * `unevaluatedProperties` other than `false`, a keyword in `OPAQUE_KEYWORDS` (`$ref`, `if`/`then`/`else`,
 * `dependentSchemas`, `propertyNames`, `patternProperties`, …) anywhere it is looked at, an `anyOf` / `oneOf` member
 * that is `true`, or no `properties` at all (an empty schema). Names come from `properties`, `required` and
 * `dependentRequired`, at the top and in `allOf` / `anyOf` / `oneOf` members at any depth (up to 8).
 */
export function argumentNames(schema: Record<string, unknown> | null): string[] | undefined {
  if (!schema || typeof schema !== "object") return undefined;
  const names = new Set<string>();
  let declared = false;
  const visit = (part: Record<string, unknown>, depth: number): boolean => {
    if (depth > MAX_COMBINATOR_DEPTH) return false;
    if (OPAQUE_KEYWORDS.some((keyword) => keyword in part)) return false;
    if ("additionalProperties" in part && part.additionalProperties !== false) return false;
    if ("unevaluatedProperties" in part && part.unevaluatedProperties !== false) return false;
    if (isTable(part.properties)) {
      declared = true;
      for (const name of Object.keys(part.properties)) names.add(name);
    }
    if (Array.isArray(part.required)) for (const name of part.required) if (typeof name === "string") names.add(name);
    if (isTable(part.dependentRequired)) {
      for (const [name, list] of Object.entries(part.dependentRequired)) {
        names.add(name);
        if (Array.isArray(list)) for (const other of list) if (typeof other === "string") names.add(other);
      }
    }
    for (const key of ["allOf", "anyOf", "oneOf"]) {
      const list = part[key];
      if (!Array.isArray(list)) continue;
      for (const member of list) {
        if (member === true && key !== "allOf") return false;
        if (isTable(member) && !visit(member, depth + 1)) return false;
      }
    }
    return true;
  };
  if (!visit(schema, 0)) return undefined;
  return declared ? [...names] : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** At most this many unknown argument names are reported (with a suggestion each); the rest are counted. */
const MAX_UNKNOWN_REPORTED = 20;
/** Names longer than this get no suggestion: the distance is not worth computing for them. */
const MAX_SUGGESTED_LENGTH = 64;

/**
 * `validate`, and every argument name that is not one of `names` refused with the closest known one:
 * `include_done: is not an allowed argument; did you mean 'includeDone'?`. The schema's own complaint about the same
 * key (`additionalProperties: false`, a strict Zod object) is replaced by this one. At most `MAX_UNKNOWN_REPORTED`
 * names are listed (`… and N more unknown arguments`), so a request with thousands of made-up keys costs linear time.
 */
function refusingUnknown(validate: ArgsValidator, names: string[]): ArgsValidator {
  const known = new Set(names);
  return (args) => {
    const unknown = new Set<string>();
    if (isTable(args)) for (const key of Object.keys(args)) if (!known.has(key)) unknown.add(key);
    if (unknown.size === 0) return validate(args);
    const checked = validate(args);
    const others = checked.ok
      ? []
      : (
          allIssues.get(checked.error) ??
          (checked.error.details as { issues?: ValidationIssue[] } | undefined)?.issues ??
          []
        ).filter((issue) => !unknown.has(issue.field));
    const issues: ValidationIssue[] = [];
    for (const key of unknown) {
      if (issues.length === MAX_UNKNOWN_REPORTED) break;
      const near = closestName(key, names);
      const issue: ValidationIssue = {
        field: key,
        message: `is not an allowed argument${near === undefined ? "" : `; did you mean '${near}'?`}`,
      };
      if (near !== undefined) issue.suggestion = near;
      issues.push(issue);
    }
    const more = unknown.size - issues.length;
    if (more > 0) issues.push({ field: `… and ${more} more`, message: "are not allowed arguments either" });
    return Err(validationError([...issues, ...others]));
  };
}

/**
 * The known name closest to `key`: the smallest Damerau–Levenshtein distance once case, `_` and `-` are set aside
 * (`include_done` → `includeDone` is 0), at most a third of the longer name (and at least 1); ties go to the first.
 * Names longer than `MAX_SUGGESTED_LENGTH` are never compared.
 */
export function closestName(key: string, names: readonly string[]): string | undefined {
  if (key.length > MAX_SUGGESTED_LENGTH) return undefined;
  const fold = (text: string) => text.toLowerCase().replace(/[_-]/g, "");
  const folded = fold(key);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    if (name.length > MAX_SUGGESTED_LENGTH) continue;
    const other = fold(name);
    const limit = Math.min(
      Math.max(1, Math.floor(Math.max(folded.length, other.length) / 3)),
      bestDistance === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : bestDistance - 1,
    );
    // Names far apart in length cannot be close: not worth the table.
    if (limit < 0 || Math.abs(folded.length - other.length) > limit) continue;
    const distance = damerauLevenshtein(folded, other, limit);
    if (distance <= limit && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Edits (insert, delete, replace, swap of two neighbours) from `a` to `b`: optimal string alignment distance, on
 * three rolling rows. Stops as soon as every cell of a row is above `limit` (the answer is then `limit + 1`).
 */
function damerauLevenshtein(a: string, b: string, limit: number): number {
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length];
}

/** The JSON Schema shown to callers: the entry's own, or the one derived from its Zod `params`. */
export function describeArgsSchema(schema: {
  inputSchema?: Record<string, unknown>;
  params?: z.ZodType;
}): Record<string, unknown> | null {
  if (schema.params)
    return z.toJSONSchema(schema.params, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return schema.inputSchema ?? null;
}

function jsonSchemaValidator(inputSchema: Record<string, unknown>, linear: boolean): ArgsValidator {
  const { $schema: _ignored, ...schema } = inputSchema;
  if (JSON.stringify(schema).includes('"$async"')) {
    throw new TypeError("inputSchema: asynchronous schemas ($async) are not supported; validation must be synchronous");
  }
  const key = `${linear ? "linear" : "full"}:${JSON.stringify(schema)}`;
  let validate = compiled.get(key);
  if (!validate) {
    const engine = linear ? linearEngine() : fullEngine();
    validate = engine.compile(schema);
    if (compiled.size >= MAX_COMPILED) {
      // Without an argument Ajv forgets every schema it compiled (its meta-schemas stay).
      fullAjv?.removeSchema();
      linearAjv?.removeSchema();
      compiled.clear();
    }
    compiled.set(key, validate);
  }
  const check = validate;
  return guarded((args) => {
    // Ajv fills defaults in place; validate a copy so the caller's object is never changed.
    const copy = structuredClone(args ?? {});
    if (check(copy)) return Ok(copy as Record<string, unknown>);
    const issues: ValidationIssue[] = (check.errors ?? []).map((e: ErrorObject) => {
      const missing = e.keyword === "required" ? (e.params as { missingProperty?: string }).missingProperty : undefined;
      // An unknown key is named itself, not the object that holds it.
      const extra =
        e.keyword === "additionalProperties"
          ? (e.params as { additionalProperty?: string }).additionalProperty
          : undefined;
      const path = e.instancePath.split("/").filter(Boolean).map(unescapePointer);
      if (missing) path.push(missing);
      if (extra) path.push(extra);
      const message = missing ? "is required" : extra ? "is not an allowed key" : (e.message ?? "is invalid");
      return { field: path.join(".") || "(args)", message };
    });
    return Err(validationError(issues));
  });
}

/** A JSON Pointer segment as the key it names (`~1` is `/`, `~0` is `~`). */
function unescapePointer(segment: string): string {
  return segment.replaceAll("~1", "/").replaceAll("~0", "~");
}

function zodValidator(params: z.ZodType): ArgsValidator {
  return guarded((args) => {
    const parsed = params.safeParse(args ?? {});
    if (parsed.success) return Ok(parsed.data as Record<string, unknown>);
    const issues = parsed.error.issues.map((i) => {
      // An unknown key (a strict object) is named itself, not the object that holds it.
      const path = i.code === "unrecognized_keys" && i.keys.length > 0 ? [...i.path, i.keys[0]] : i.path;
      return { field: path.map(String).join(".") || "(args)", message: i.message };
    });
    return Err(validationError(issues));
  });
}

/**
 * A validator never throws: a schema whose refine or transform throws (or is async, which Zod's synchronous parse
 * refuses by throwing) fails the call with a ValidationError that says so, instead of leaving the caller unanswered.
 */
function guarded(validate: ArgsValidator): ArgsValidator {
  return (args) => {
    try {
      return validate(args);
    } catch (error) {
      const reason = (error as Error)?.message ?? String(error);
      return Err(new ValidationError(`the arguments could not be validated: ${reason}`, { details: { reason } }));
    }
  };
}

/** At most this many issues go into the message and `details.issues`; the rest are counted. */
const MAX_ISSUES = 50;
/** Every issue found, before the cap: `refusingUnknown` filters them without losing any past the cap. */
const allIssues = new WeakMap<ValidationError, ValidationIssue[]>();

function validationError(issues: ValidationIssue[]): ValidationError {
  const shown = issues.slice(0, MAX_ISSUES);
  if (issues.length > MAX_ISSUES) {
    shown.push({ field: `… and ${issues.length - MAX_ISSUES} more`, message: "issues not listed" });
  }
  const text = shown.map((i) => `${i.field}: ${i.message}`).join("; ");
  const error = new ValidationError(`invalid arguments: ${text}`, { details: { issues: shown } });
  allIssues.set(error, issues);
  return error;
}
