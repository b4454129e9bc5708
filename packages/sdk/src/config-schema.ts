/**
 * A plugin's `static configSchema` (SPEC §3.4, docs/config.md#a-schema-for-the-configuration): a Zod schema or a JSON
 * Schema object describing the plugin's own tables of the effective configuration — everything but the tables the
 * host reads from the manifest. It owns the schema's JSON Schema form (what the plugin sends at registration and the
 * server serves for the manager page's form), the bounds a schema from a plugin must keep, and the check of a
 * configuration against it; the host uses the same check on every write, through the entry validator's Ajv and Zod.
 */
import { nestsDeeperThan } from "@neko/protocol";
import { z } from "@neko/protocol/lazy-zod";
import { type ArgsValidator, compileArgsValidator, type ValidationIssue } from "./entry-validator.ts";

/** A JSON Schema object (draft 2020-12, as Ajv reads it). */
export type JsonSchemaObject = Record<string, unknown>;
/** What `static configSchema` may hold. */
export type ConfigSchema = z.ZodType | JsonSchemaObject;

/**
 * What a plugin class may name to type its configuration: a Zod schema or a record type. The union itself is the
 * default, so every plugin class is assignable to the bare `NekoPluginBase`.
 */
export type ConfigSource = z.ZodType | Record<string, unknown>;

/**
 * The plugin's own tables as `this.config.value` types them, from what the plugin class names: a Zod schema's output,
 * or a type given as it is. A JSON Schema's shape is not known to the compiler: name no type, and it is a record.
 */
export type ConfigOf<C> = C extends z.ZodType
  ? z.output<C> extends Record<string, unknown>
    ? z.output<C>
    : Record<string, unknown>
  : C extends Record<string, unknown>
    ? C
    : Record<string, unknown>;

/**
 * Tables of plugin.toml the host reads as the manifest (SPEC §2.1): no plugin's schema covers them, so a schema that
 * forbids unknown keys still accepts every manifest.
 */
export const HOST_CONFIG_TABLES: readonly string[] = ["plugin", "plugin_runtime", "plugin_state", "adapter", "entries"];

/** A schema from a plugin is held by the host: its JSON text may take this much. */
export const MAX_CONFIG_SCHEMA_BYTES = 64 * 1024;
/**
 * All its `pattern`s and `patternProperties` keys together may be this long: the host's work to check a value is the
 * patterns' length times the value's, on its main thread.
 */
export const MAX_CONFIG_SCHEMA_PATTERN_CHARS = 1024;
/** Keywords that make the host follow references: the work they cause is not bounded by the schema's size. */
const REFERENCE_KEYWORDS = ["$ref", "$dynamicRef", "$recursiveRef"];
/**
 * Formats that Ajv checks itself at least as strictly as Zod's own expression: beside them Zod's expression goes.
 * Beside any other format (cuid, nanoid, uuid's variants, …) it stays, so the host refuses what the plugin would.
 */
const FORMATS_AJV_CHECKS = new Set(["email", "ipv4", "ipv6", "uri", "url", "hostname", "date", "time", "date-time"]);
/** And nest this deep (a form generated from it is no deeper; Ajv compiles it recursively). */
export const MAX_CONFIG_SCHEMA_DEPTH = 32;

/** The plugin's own tables: the effective configuration without the manifest tables the host reads. */
export function ownConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !HOST_CONFIG_TABLES.includes(key)));
}

/** Whether `value` is a Zod schema (as opposed to a JSON Schema object). */
function isZodSchema(value: unknown): value is z.ZodType {
  // Every Zod schema carries `_zod`: anything else is told apart without loading Zod.
  return typeof value === "object" && value !== null && "_zod" in value && value instanceof z.ZodType;
}

/**
 * The JSON Schema of a `configSchema` (Zod converted with `z.toJSONSchema`, as it reads input: defaults are optional);
 * throws a TypeError naming the problem when it is neither form, cannot be converted, or exceeds the bounds.
 */
export function describeConfigSchema(schema: unknown): JsonSchemaObject {
  let json: unknown;
  if (isZodSchema(schema)) {
    try {
      json = z.toJSONSchema(schema, {
        io: "input",
        unrepresentable: "any",
        // Zod writes its own regular expression beside a `format`; where Ajv checks the format itself, Zod's
        // (often with lookarounds, which cannot run in linear time) goes.
        override: ({ jsonSchema }) => {
          if (typeof jsonSchema.format === "string" && FORMATS_AJV_CHECKS.has(jsonSchema.format)) {
            delete jsonSchema.pattern;
          }
        },
      });
    } catch (error) {
      throw new TypeError(`configSchema cannot be converted to JSON Schema: ${(error as Error).message}`);
    }
  } else {
    json = schema;
  }
  const problem = configSchemaProblem(json);
  if (problem) throw new TypeError(`configSchema ${problem}`);
  return json as JsonSchemaObject;
}

/**
 * Why a JSON Schema from a plugin cannot be used (not an object, too large, too deep, not compilable), or undefined.
 * Never throws: the host asks it about what an untrusted process sent.
 */
export function configSchemaProblem(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return "must be a Zod schema or a JSON Schema object";
  }
  if (nestsDeeperThan(json, MAX_CONFIG_SCHEMA_DEPTH)) return `nests deeper than ${MAX_CONFIG_SCHEMA_DEPTH} levels`;
  let text: string;
  try {
    text = JSON.stringify(json);
  } catch (error) {
    return `is not JSON data: ${(error as Error).message}`;
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_SCHEMA_BYTES) {
    return `is larger than ${MAX_CONFIG_SCHEMA_BYTES} bytes as JSON`;
  }
  const walked = walkProblem(json);
  if (walked) return walked;
  try {
    compileArgsValidator({ inputSchema: json as JsonSchemaObject }, { linearPatterns: true });
  } catch (error) {
    return `is not a valid JSON Schema: ${(error as Error).message}`;
  }
  return undefined;
}

/** A reference keyword anywhere, or patterns longer together than the bound. */
function walkProblem(root: object): string | undefined {
  let patternChars = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    for (const [key, value] of Object.entries(node)) {
      if (REFERENCE_KEYWORDS.includes(key)) {
        return `uses ${key}: a config schema is written out in full (no references), so checking it stays bounded`;
      }
      if (key === "pattern" && typeof value === "string") patternChars += value.length;
      if (key === "patternProperties" && typeof value === "object" && value !== null) {
        for (const name of Object.keys(value)) patternChars += name.length;
      }
      stack.push(value);
    }
  }
  if (patternChars > MAX_CONFIG_SCHEMA_PATTERN_CHARS) {
    return `has patterns of ${patternChars} characters together, more than ${MAX_CONFIG_SCHEMA_PATTERN_CHARS}`;
  }
  return undefined;
}

/** A configuration that does not match: the first offending key's path, and every problem. */
export interface ConfigViolation {
  /** `"reminder.max_items"`; `"(config)"` for the document as a whole. */
  path: string;
  message: string;
  issues: ValidationIssue[];
}

/** Checks the plugin's own tables of a configuration; also gives them with the schema's defaults filled in. */
export type ConfigValidator = (
  config: Record<string, unknown>,
) => { ok: true; value: Record<string, unknown> } | { ok: false; violation: ConfigViolation };

/**
 * The check for a schema (Zod as itself, so its refinements hold in the plugin; JSON Schema through Ajv, its `pattern`s
 * on V8's linear-time engine: one that engine cannot run — a backreference, a lookaround — is not checked).
 */
export function compileConfigValidator(schema: ConfigSchema): ConfigValidator {
  // A JSON Schema may come from another process (the host checks what a plugin sent): its patterns run in linear time.
  const validate = (
    isZodSchema(schema)
      ? compileArgsValidator({ params: schema })
      : compileArgsValidator({ inputSchema: schema }, { linearPatterns: true })
  ) as ArgsValidator;
  return (config) => {
    const checked = validate(ownConfig(config));
    if (checked.ok) return { ok: true, value: checked.value };
    const details = checked.error.details as { issues?: ValidationIssue[] } | undefined;
    const issues = (details?.issues ?? [{ field: "(args)", message: checked.error.message }]).map((issue) => ({
      field: issue.field === "(args)" ? "(config)" : issue.field,
      message: issue.message,
    }));
    const text = issues.map((i) => `'${i.field}': ${i.message}`).join("; ");
    return {
      ok: false,
      violation: {
        path: issues[0].field,
        message: `the configuration does not match the plugin's configSchema: ${text}`,
        issues,
      },
    };
  };
}
