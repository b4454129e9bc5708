/** A JSON value shown as indented text in a block that scrolls (and can be scrolled by keyboard). */
import { t } from "./strings.ts";

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <section aria-label={label ?? t("common.json")}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a block that scrolls must be reachable by keyboard */}
      <pre class="json" tabIndex={0}>
        {value === undefined ? "undefined" : JSON.stringify(value, null, 2)}
      </pre>
    </section>
  );
}
