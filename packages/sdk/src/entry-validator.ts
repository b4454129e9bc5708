/**
 * Argument validation for entries: JSON Schema through Ajv (compiled once per entry) or a Zod schema.
 * A violation becomes a `ValidationError` whose message names the failing field.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ErrorObject } from "ajv";
import { z } from "zod";
import { ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";

// ajv-formats is CommonJS with a `default` export: the types see the module object, Node the function.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as typeof addFormatsModule.default;

const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
addFormats(ajv);

export type ArgsValidator = (args: unknown) => Result<Record<string, unknown>, ValidationError>;

export interface ValidationIssue {
  field: string;
  message: string;
}

/** Builds the validator for an entry, or undefined when it has no schema. Throws if the schema itself is invalid. */
export function compileArgsValidator(schema: {
  inputSchema?: Record<string, unknown>;
  params?: z.ZodType;
}): ArgsValidator | undefined {
  if (schema.params) return zodValidator(schema.params);
  if (schema.inputSchema) return jsonSchemaValidator(schema.inputSchema);
  return undefined;
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

function jsonSchemaValidator(inputSchema: Record<string, unknown>): ArgsValidator {
  const { $schema: _ignored, ...schema } = inputSchema;
  const validate = ajv.compile(schema);
  return (args) => {
    // Ajv fills defaults in place; validate a copy so the caller's object is never changed.
    const copy = structuredClone(args ?? {});
    if (validate(copy)) return Ok(copy as Record<string, unknown>);
    const issues: ValidationIssue[] = (validate.errors ?? []).map((e: ErrorObject) => {
      const missing = e.keyword === "required" ? (e.params as { missingProperty?: string }).missingProperty : undefined;
      const path = e.instancePath.split("/").filter(Boolean);
      if (missing) path.push(missing);
      return { field: path.join(".") || "(args)", message: missing ? "is required" : (e.message ?? "is invalid") };
    });
    return Err(validationError(issues));
  };
}

function zodValidator(params: z.ZodType): ArgsValidator {
  return (args) => {
    const parsed = params.safeParse(args ?? {});
    if (parsed.success) return Ok(parsed.data as Record<string, unknown>);
    const issues = parsed.error.issues.map((i) => ({
      field: i.path.map(String).join(".") || "(args)",
      message: i.message,
    }));
    return Err(validationError(issues));
  };
}

function validationError(issues: ValidationIssue[]): ValidationError {
  const text = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  return new ValidationError(`invalid arguments: ${text}`, { details: { issues } });
}
