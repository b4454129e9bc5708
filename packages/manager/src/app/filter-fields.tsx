/**
 * The filter controls the list views share: a labelled choice among values (with "All" first, or a fixed list) and a
 * labelled search box. Each reports its new value; the view keeps it.
 */
import { t } from "./strings.ts";

export function FilterChoice(props: {
  id: string;
  label: string;
  value: string;
  /** The values offered after "All" (the empty value). */
  options: readonly string[];
  onChange: (value: string) => void;
  /** No "All" choice: one of `options` is always chosen. */
  required?: boolean;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {!props.required && <option value="">{t("common.all")}</option>}
        {props.options.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </div>
  );
}

export function FilterText(props: { id: string; label: string; value: string; onChange: (value: string) => void }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="search"
        value={props.value}
        onInput={(e) => props.onChange((e.currentTarget as HTMLInputElement).value)}
      />
    </div>
  );
}
