/**
 * Keeps a part of the page that fails to draw (a plugin's malformed schema, a bug of ours) from blanking the rest:
 * the part is replaced by the error, and the other parts and the navigation keep working.
 */
import type { ComponentChildren } from "preact";
import { useErrorBoundary } from "preact/hooks";
import { t } from "./strings.ts";

export function ErrorBoundary({ children, what }: { children: ComponentChildren; what: string }) {
  const [error, reset] = useErrorBoundary();
  if (error) {
    return (
      <div class="feedback error" role="alert">
        {t("common.drawFailed", { what, message: String((error as Error)?.message ?? error) })}{" "}
        <button type="button" class="small" onClick={reset}>
          {t("common.retry")}
        </button>
      </div>
    );
  }
  return <>{children}</>;
}
