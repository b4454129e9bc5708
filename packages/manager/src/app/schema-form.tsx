/**
 * A form generated from a JSON Schema (an entry's input schema, a plugin's config schema): a control per type —
 * text inputs for strings, number inputs with min/max, checkboxes for booleans, selects for enums, lists with add and
 * remove for arrays, fieldsets for nested objects, a JSON text area for anything else — with defaults, required
 * marks, descriptions as hints and each field's error from the server beside it (errors are keyed by dot paths, as
 * the server's `details.issues[].field`).
 */
import { useState } from "preact/hooks";
import type { JsonSchema } from "./api-types.ts";
import { t } from "./strings.ts";

export type FieldErrors = ReadonlyMap<string, string>;

interface FieldProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  /** Dot path of this field ("" for the root). */
  path: string;
  /** Unique per form: the DOM ids of the controls start with it. */
  idPrefix: string;
  label: string;
  required: boolean;
  errors: FieldErrors;
}

/** The value a schema starts with: its default, else its properties' defaults (an object), else nothing. */
export function initialValue(schema: JsonSchema | null | undefined): unknown {
  if (!schema) return {};
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (typeOf(schema) === "object" || schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      const value = initialValue(child);
      if (value !== undefined && !(isObject(value) && Object.keys(value).length === 0 && child.default === undefined)) {
        out[key] = value;
      }
    }
    return out;
  }
  return undefined;
}

export function SchemaForm(props: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  idPrefix: string;
  errors: FieldErrors;
}) {
  const properties = Object.entries(props.schema.properties ?? {});
  if (properties.length === 0 && typeOf(props.schema) === "object" && !props.schema.additionalProperties) {
    return <p class="muted">{t("entries.noArgs")}</p>;
  }
  if (properties.length === 0) {
    return (
      <JsonField
        {...{ ...fieldBase(props, "", props.idPrefix), label: t("form.jsonHint"), required: false }}
        onChange={(v) => props.onChange(isObject(v) ? v : {})}
      />
    );
  }
  return (
    <ObjectFields
      schema={props.schema}
      value={props.value}
      onChange={(v) => props.onChange(v as Record<string, unknown>)}
      path=""
      idPrefix={props.idPrefix}
      errors={props.errors}
    />
  );
}

function fieldBase(
  props: { schema: JsonSchema; value: unknown; errors: FieldErrors },
  path: string,
  idPrefix: string,
): Omit<FieldProps, "onChange" | "label" | "required"> {
  return { schema: props.schema, value: props.value, path, idPrefix, errors: props.errors };
}

function ObjectFields(props: Omit<FieldProps, "label" | "required">) {
  const value = isObject(props.value) ? props.value : {};
  const required = new Set(props.schema.required ?? []);
  return (
    <>
      {Object.entries(props.schema.properties ?? {}).map(([key, child]) => {
        const path = props.path ? `${props.path}.${key}` : key;
        return (
          <Field
            key={key}
            schema={child}
            value={value[key]}
            path={path}
            idPrefix={props.idPrefix}
            label={child.title ?? key}
            required={required.has(key)}
            errors={props.errors}
            onChange={(next) => {
              const copy = { ...value };
              if (next === undefined) delete copy[key];
              else copy[key] = next;
              props.onChange(copy);
            }}
          />
        );
      })}
    </>
  );
}

function Field(props: FieldProps) {
  const schema = props.schema;
  const type = typeOf(schema);
  if (schema.enum) return <EnumField {...props} />;
  if (type === "boolean") return <BooleanField {...props} />;
  if (type === "integer" || type === "number") return <NumberField {...props} />;
  if (type === "string") return <StringField {...props} />;
  if (type === "object" && schema.properties) {
    return (
      <fieldset class="field-group">
        <legend>
          {props.label}
          <RequiredMark required={props.required} />
        </legend>
        <Hint {...props} />
        <ObjectFields {...props} />
        <FieldError {...props} />
      </fieldset>
    );
  }
  if (type === "array" && schema.items && typeOf(schema.items) !== undefined) return <ArrayField {...props} />;
  return <JsonField {...props} />;
}

function controlId(props: FieldProps): string {
  return `${props.idPrefix}-${props.path.replace(/[^\w-]/g, "_") || "root"}`;
}

function describedBy(props: FieldProps): string | undefined {
  const id = controlId(props);
  const ids = [props.schema.description ? `${id}-hint` : "", props.errors.has(props.path) ? `${id}-error` : ""];
  return ids.filter(Boolean).join(" ") || undefined;
}

function RequiredMark({ required }: { required: boolean }) {
  if (!required) return null;
  return (
    <span class="required" title={t("form.required")}>
      {" *"}
      <span class="visually-hidden"> ({t("form.required")})</span>
    </span>
  );
}

function Label(props: FieldProps) {
  return (
    <label for={controlId(props)}>
      {props.label}
      <RequiredMark required={props.required} />
    </label>
  );
}

function Hint(props: FieldProps) {
  if (!props.schema.description) return null;
  return (
    <p class="hint" id={`${controlId(props)}-hint`}>
      {props.schema.description}
    </p>
  );
}

function FieldError(props: FieldProps) {
  const message = props.errors.get(props.path);
  if (!message) return null;
  return (
    <p class="field-error" id={`${controlId(props)}-error`} role="alert">
      {message}
    </p>
  );
}

function StringField(props: FieldProps) {
  const long = (props.schema.maxLength ?? 0) > 200 || props.schema.format === "textarea";
  const common = {
    id: controlId(props),
    name: props.path,
    value: typeof props.value === "string" ? props.value : "",
    "aria-describedby": describedBy(props),
    "aria-invalid": props.errors.has(props.path) ? ("true" as const) : undefined,
    "aria-required": props.required ? ("true" as const) : undefined,
    maxLength: props.schema.maxLength,
    onInput: (e: Event) => props.onChange((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <Label {...props} />
      {long ? <textarea rows={4} {...common} /> : <input type={inputType(props.schema.format)} {...common} />}
      <Hint {...props} />
      <FieldError {...props} />
    </div>
  );
}

function inputType(format: string | undefined): string {
  if (format === "email") return "email";
  if (format === "uri" || format === "url") return "url";
  return "text";
}

function NumberField(props: FieldProps) {
  const s = props.schema;
  // What the user typed, kept while it is not a number yet ("-", "1e"), so typing is never fought.
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (typeof props.value === "number" ? String(props.value) : "");
  return (
    <div class="field">
      <Label {...props} />
      <input
        type="number"
        id={controlId(props)}
        name={props.path}
        value={shown}
        min={s.minimum ?? s.exclusiveMinimum}
        max={s.maximum ?? s.exclusiveMaximum}
        step={typeOf(s) === "integer" ? 1 : "any"}
        aria-describedby={describedBy(props)}
        aria-invalid={props.errors.has(props.path) ? "true" : undefined}
        aria-required={props.required ? "true" : undefined}
        onInput={(e) => {
          const raw = (e.currentTarget as HTMLInputElement).value;
          setText(raw);
          if (raw.trim() === "") props.onChange(undefined);
          else if (Number.isFinite(Number(raw))) props.onChange(Number(raw));
        }}
        onBlur={() => setText(null)}
      />
      <Hint {...props} />
      <FieldError {...props} />
    </div>
  );
}

function BooleanField(props: FieldProps) {
  return (
    <div class="field field-check">
      <input
        type="checkbox"
        id={controlId(props)}
        name={props.path}
        checked={props.value === true}
        aria-describedby={describedBy(props)}
        aria-invalid={props.errors.has(props.path) ? "true" : undefined}
        onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked)}
      />
      <Label {...props} />
      <Hint {...props} />
      <FieldError {...props} />
    </div>
  );
}

function EnumField(props: FieldProps) {
  const options = props.schema.enum ?? [];
  const index = options.findIndex((o) => JSON.stringify(o) === JSON.stringify(props.value));
  return (
    <div class="field">
      <Label {...props} />
      <select
        id={controlId(props)}
        name={props.path}
        aria-describedby={describedBy(props)}
        aria-invalid={props.errors.has(props.path) ? "true" : undefined}
        aria-required={props.required ? "true" : undefined}
        value={index >= 0 ? String(index) : ""}
        onChange={(e) => {
          const raw = (e.currentTarget as HTMLSelectElement).value;
          props.onChange(raw === "" ? undefined : options[Number(raw)]);
        }}
      >
        {(index < 0 || !props.required) && <option value="">{t("form.choose")}</option>}
        {options.map((option, i) => (
          <option key={String(i)} value={String(i)}>
            {typeof option === "string" ? option : JSON.stringify(option)}
          </option>
        ))}
      </select>
      <Hint {...props} />
      <FieldError {...props} />
    </div>
  );
}

function ArrayField(props: FieldProps) {
  const items = Array.isArray(props.value) ? props.value : [];
  const itemSchema = props.schema.items as JsonSchema;
  const set = (next: unknown[]) => props.onChange(next);
  return (
    <fieldset class="field-group">
      <legend>
        {props.label}
        <RequiredMark required={props.required} />
      </legend>
      <Hint {...props} />
      {items.map((item, i) => (
        <div class="array-item" key={i}>
          <Field
            schema={itemSchema}
            value={item}
            path={`${props.path}.${i}`}
            idPrefix={props.idPrefix}
            label={t("form.item", { index: i + 1 })}
            required={false}
            errors={props.errors}
            onChange={(next) => set(items.map((old, j) => (j === i ? next : old)))}
          />
          <button type="button" class="small" onClick={() => set(items.filter((_, j) => j !== i))}>
            {t("form.remove", { index: i + 1 })}
          </button>
        </div>
      ))}
      <button
        type="button"
        class="small"
        onClick={() => set([...items, initialValue(itemSchema) ?? emptyOf(itemSchema)])}
      >
        {t("form.add")}
      </button>
      <FieldError {...props} />
    </fieldset>
  );
}

function emptyOf(schema: JsonSchema): unknown {
  switch (typeOf(schema)) {
    case "string":
      return "";
    case "boolean":
      return false;
    case "object":
      return {};
    case "array":
      return [];
    default:
      return undefined;
  }
}

/** Any schema the other controls cannot show (unions, free objects): its value as JSON text. */
function JsonField(props: FieldProps) {
  const [text, setText] = useState<string>(props.value === undefined ? "" : JSON.stringify(props.value, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const errors = problem ? new Map([...props.errors, [props.path, problem]]) : props.errors;
  const shown = { ...props, errors };
  return (
    <div class="field">
      <Label {...shown} />
      <textarea
        id={controlId(shown)}
        name={props.path}
        rows={4}
        class="code"
        value={text}
        spellcheck={false}
        aria-describedby={describedBy(shown)}
        aria-invalid={errors.has(props.path) ? "true" : undefined}
        onInput={(e) => {
          const raw = (e.currentTarget as HTMLTextAreaElement).value;
          setText(raw);
          if (raw.trim() === "") {
            setProblem(null);
            props.onChange(undefined);
            return;
          }
          try {
            props.onChange(JSON.parse(raw));
            setProblem(null);
          } catch (error) {
            setProblem(t("form.badJson", { message: (error as Error).message }));
          }
        }}
      />
      <Hint {...shown} />
      <FieldError {...shown} />
    </div>
  );
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null");
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `details.issues` of a VALIDATION_ERROR (or the `path`/`key` of a config refusal) as errors by field. */
export function fieldErrorsOf(details: unknown): Map<string, string> {
  const errors = new Map<string, string>();
  const d = details as { issues?: unknown; path?: unknown; key?: unknown } | null;
  if (d && Array.isArray(d.issues)) {
    for (const issue of d.issues as { field?: unknown; path?: unknown; message?: unknown }[]) {
      const field =
        typeof issue.field === "string" ? issue.field : Array.isArray(issue.path) ? issue.path.join(".") : null;
      if (field !== null && typeof issue.message === "string" && !errors.has(field)) errors.set(field, issue.message);
    }
  }
  return errors;
}
