/**
 * Argument validation for entries: JSON Schema through Ajv (compiled once per entry) or a Zod schema.
 * A violation becomes a `ValidationError` whose message names the failing field. The host checks plugins'
 * configSchemas with it too, in the linear-time mode below.
 */
import v8 from "node:v8";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ErrorObject } from "ajv";
import { z } from "zod";
import { ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";

// ajv-formats is CommonJS with a `default` export: the types see the module object, Node the function.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as typeof addFormatsModule.default;

// addUsedSchema false: an entry's schema is never registered by its `$id`, so two entries (or a dynamic entry
// registered again) may share one without a clash.
function makeAjv(regExp?: (pattern: string, flags: string) => RegExp): Ajv2020 {
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

const ajv = makeAjv();
let linearAjv: Ajv2020 | undefined;

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
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
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

/**
 * The argument names a schema declares, or undefined when it lets other names through or cannot say: an explicit
 * `additionalProperties` other than `false` (`true`, a schema; Zod's `.loose()` / `.passthrough()` / `.catchall()`),
 * `patternProperties`, `unevaluatedProperties` other than `false`, or no `properties` at all (a `$ref`, an empty
 * schema). Names from `allOf` / `anyOf` / `oneOf` members count too.
 */
export function argumentNames(schema: Record<string, unknown> | null): string[] | undefined {
  if (!schema || typeof schema !== "object") return undefined;
  const names = new Set<string>();
  let declared = false;
  const parts = [schema];
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = schema[key];
    if (Array.isArray(list)) parts.push(...list.filter((p): p is Record<string, unknown> => isTable(p)));
  }
  for (const part of parts) {
    if ("additionalProperties" in part && part.additionalProperties !== false) return undefined;
    if ("patternProperties" in part) return undefined;
    if ("unevaluatedProperties" in part && part.unevaluatedProperties !== false) return undefined;
    if (isTable(part.properties)) {
      declared = true;
      for (const name of Object.keys(part.properties)) names.add(name);
    }
  }
  return declared ? [...names] : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `validate`, and every argument name that is not one of `names` refused with the closest known one:
 * `include_done: is not an allowed argument; did you mean 'includeDone'?`. The schema's own complaint about the same
 * key (`additionalProperties: false`, a strict Zod object) is replaced by this one.
 */
function refusingUnknown(validate: ArgsValidator, names: string[]): ArgsValidator {
  const known = new Set(names);
  return (args) => {
    const given = isTable(args) ? Object.keys(args) : [];
    const unknown = given.filter((key) => !known.has(key));
    if (unknown.length === 0) return validate(args);
    const checked = validate(args);
    const others = checked.ok
      ? []
      : ((checked.error.details as { issues?: ValidationIssue[] } | undefined)?.issues ?? []).filter(
          (issue) => !unknown.includes(issue.field),
        );
    const issues: ValidationIssue[] = unknown.map((key) => {
      const near = closestName(key, names);
      const issue: ValidationIssue = {
        field: key,
        message: `is not an allowed argument${near === undefined ? "" : `; did you mean '${near}'?`}`,
      };
      if (near !== undefined) issue.suggestion = near;
      return issue;
    });
    return Err(validationError([...issues, ...others]));
  };
}

/**
 * The known name closest to `key`: the smallest Damerau–Levenshtein distance once case, `_` and `-` are set aside
 * (`include_done` → `includeDone` is 0), at most a third of the longer name (and at least 1); ties go to the first.
 */
export function closestName(key: string, names: readonly string[]): string | undefined {
  const fold = (text: string) => text.toLowerCase().replace(/[_-]/g, "");
  const folded = fold(key);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const other = fold(name);
    const limit = Math.max(1, Math.floor(Math.max(folded.length, other.length) / 3));
    // Names far apart in length cannot be close: not worth the table.
    if (Math.abs(folded.length - other.length) > limit || folded.length > 256 || other.length > 256) continue;
    const distance = damerauLevenshtein(folded, other);
    if (distance <= limit && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, replace, swap of two neighbours) from `a` to `b`: optimal string alignment distance. */
function damerauLevenshtein(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
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
    const engine = linear ? linearEngine() : ajv;
    validate = engine.compile(schema);
    if (compiled.size >= MAX_COMPILED) {
      // Without an argument Ajv forgets every schema it compiled (its meta-schemas stay).
      ajv.removeSchema();
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

function validationError(issues: ValidationIssue[]): ValidationError {
  const text = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  return new ValidationError(`invalid arguments: ${text}`, { details: { issues } });
}
