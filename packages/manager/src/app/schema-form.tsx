/**
 * A form generated from a JSON Schema (an entry's input schema, a plugin's config schema): a control per type —
 * text inputs for strings, number inputs with min/max, checkboxes for booleans, selects for enums, lists with add and
 * remove for arrays, fieldsets for nested objects, a JSON text area for anything else — with defaults, required
 * marks, descriptions as hints and each field's error from the server beside it (errors are keyed by dot paths, as
 * the server's `details.issues[].field`). The schema is expected through `safeSchema` (schema-values.ts).
 */
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import type { JsonSchema } from "./api-types.ts";
import { fieldId, getOwn, isRecord, newItemValue, setOwn, typeOf } from "./schema-values.ts";
import { t } from "./strings.ts";

export type FieldErrors = ReadonlyMap<string, string>;

interface FieldProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  /** The keys from the form's root to this field ([] for the root); `keys.join(".")` is its path in errors. */
  keys: readonly string[];
  /** Unique per form on the page: the DOM ids of its controls start with it. */
  formId: string;
  label: string;
  required: boolean;
  errors: FieldErrors;
}

export function SchemaForm(props: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  formId: string;
  errors: FieldErrors;
}) {
  const root = {
    schema: props.schema,
    value: props.value,
    keys: [],
    formId: props.formId,
    errors: props.errors,
    // Whatever the root holds goes as it is: the server says what is wrong with a value that is not an object.
    onChange: (v: unknown) => props.onChange(v as Record<string, unknown>),
  };
  if (Object.keys(props.schema.properties ?? {}).length > 0) return <ObjectFields {...root} />;
  if (typeOf(props.schema) === "object" && props.schema.additionalProperties !== true) {
    return <p class="muted">{t("entries.noArgs")}</p>;
  }
  return <JsonField {...root} label={t("form.jsonHint")} required={false} />;
}

function ObjectFields(props: Omit<FieldProps, "label" | "required">) {
  const value = isRecord(props.value) ? props.value : {};
  const required = new Set(props.schema.required ?? []);
  return (
    <>
      {Object.entries(props.schema.properties ?? {}).map(([key, child]) => (
        <Field
          key={key}
          schema={child}
          value={getOwn(value, key)}
          keys={[...props.keys, key]}
          formId={props.formId}
          label={child.title ?? key}
          required={required.has(key)}
          errors={props.errors}
          onChange={(next) => {
            const copy: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(value)) if (k !== key) setOwn(copy, k, v);
            if (next !== undefined) setOwn(copy, key, next);
            props.onChange(copy);
          }}
        />
      ))}
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
      <FieldGroup field={props}>
        <ObjectFields {...props} />
      </FieldGroup>
    );
  }
  if (type === "array" && schema.items && typeOf(schema.items) !== undefined) return <ArrayField {...props} />;
  return <JsonField {...props} />;
}

/** A field made of fields (an object's, a list's items): a fieldset named by its legend, its hint and its error. */
function FieldGroup({ field, children }: { field: FieldProps; children: ComponentChildren }) {
  return (
    <fieldset class="field-group">
      <legend>
        {field.label}
        <RequiredMark required={field.required} />
      </legend>
      <Hint {...field} />
      {children}
      <FieldError {...field} />
    </fieldset>
  );
}

/** The attributes every control shares: its id, what describes it, and whether it is required or wrong. */
function controlAttributes(props: FieldProps) {
  const id = fieldId(props.formId, props.keys);
  const error = errorOf(props);
  const described = [props.schema.description ? `${id}--hint` : "", error ? `${id}--error` : ""];
  return {
    id,
    "aria-describedby": described.filter(Boolean).join(" ") || undefined,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-required": props.required ? ("true" as const) : undefined,
  };
}

function errorOf(props: FieldProps): string | undefined {
  return props.errors.get(props.keys.join("."));
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
    <label for={fieldId(props.formId, props.keys)}>
      {props.label}
      <RequiredMark required={props.required} />
    </label>
  );
}

function Hint(props: FieldProps) {
  if (!props.schema.description) return null;
  return (
    <p class="hint" id={`${fieldId(props.formId, props.keys)}--hint`}>
      {props.schema.description}
    </p>
  );
}

function FieldError(props: FieldProps) {
  const message = errorOf(props);
  if (!message) return null;
  return (
    <p class="field-error" id={`${fieldId(props.formId, props.keys)}--error`} role="alert">
      {message}
    </p>
  );
}

function StringField(props: FieldProps) {
  const long = (props.schema.maxLength ?? 0) > 200 || props.schema.format === "textarea";
  const common = {
    ...controlAttributes(props),
    value: typeof props.value === "string" ? props.value : "",
    maxLength: props.schema.maxLength,
    // Empty is "not set", as for the other controls: a required field left empty is reported as missing.
    onInput: (e: Event) => props.onChange((e.currentTarget as HTMLInputElement).value || undefined),
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
  // While what is typed is not a number yet ("-", "1e"), the browser reports an empty value and badInput: the value
  // is then left unset rather than cleared under the user's fingers.
  const [typing, setTyping] = useState(false);
  return (
    <div class="field">
      <Label {...props} />
      <input
        type="number"
        {...controlAttributes(props)}
        value={typing ? undefined : typeof props.value === "number" ? String(props.value) : ""}
        min={s.minimum}
        max={s.maximum}
        step={typeOf(s) === "integer" ? 1 : "any"}
        onInput={(e) => {
          const input = e.currentTarget as HTMLInputElement;
          setTyping(true);
          if (input.validity.badInput) props.onChange(undefined);
          else if (input.value.trim() === "") props.onChange(undefined);
          else props.onChange(Number(input.value));
        }}
        onBlur={() => setTyping(false)}
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
        {...controlAttributes(props)}
        checked={props.value === true}
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
        {...controlAttributes(props)}
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
  // Each item keeps its key when another is removed, so its control keeps showing it (not its neighbour's text).
  const keys = useRef<number[]>([]);
  const nextKey = useRef(0);
  while (keys.current.length < items.length) keys.current.push(nextKey.current++);
  keys.current.length = items.length;
  const set = (next: unknown[], keyOrder: number[]) => {
    keys.current = keyOrder;
    props.onChange(next);
  };
  return (
    <FieldGroup field={props}>
      {items.map((item, i) => (
        <div class="array-item" key={keys.current[i]}>
          <Field
            schema={itemSchema}
            value={item}
            keys={[...props.keys, String(i)]}
            formId={props.formId}
            label={t("form.item", { index: i + 1 })}
            required={false}
            errors={props.errors}
            onChange={(next) =>
              set(
                items.map((old, j) => (j === i ? next : old)),
                keys.current,
              )
            }
          />
          <button
            type="button"
            class="small"
            onClick={() =>
              set(
                items.filter((_, j) => j !== i),
                keys.current.filter((_, j) => j !== i),
              )
            }
          >
            {t("form.remove", { index: i + 1 })}
          </button>
        </div>
      ))}
      <button
        type="button"
        class="small"
        aria-label={t("form.addTo", { field: props.label })}
        onClick={() => set([...items, newItemValue(itemSchema)], [...keys.current, nextKey.current++])}
      >
        {t("form.add")}
      </button>
    </FieldGroup>
  );
}

/** Any schema the other controls cannot show (unions, free objects, deep nesting): its value as JSON text. */
function JsonField(props: FieldProps) {
  const show = (value: unknown) => (value === undefined ? "" : JSON.stringify(value, null, 2));
  const [text, setText] = useState(() => show(props.value));
  const [problem, setProblem] = useState<string | null>(null);
  // A value changed from outside (a reset, a neighbour removed) replaces what is shown; the user's own edits do not.
  const shownValue = useRef(props.value);
  if (JSON.stringify(shownValue.current) !== JSON.stringify(props.value)) {
    shownValue.current = props.value;
    const fresh = show(props.value);
    if (fresh !== text) {
      setText(fresh);
      setProblem(null);
    }
  }
  const errors = problem ? new Map([...props.errors, [props.keys.join("."), problem]]) : props.errors;
  const shown = { ...props, errors };
  return (
    <div class="field">
      <Label {...shown} />
      <textarea
        {...controlAttributes(shown)}
        rows={4}
        class="code"
        value={text}
        spellcheck={false}
        onInput={(e) => {
          const raw = (e.currentTarget as HTMLTextAreaElement).value;
          setText(raw);
          if (raw.trim() === "") {
            setProblem(null);
            shownValue.current = undefined;
            props.onChange(undefined);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(raw);
            setProblem(null);
            shownValue.current = parsed;
            props.onChange(parsed);
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
