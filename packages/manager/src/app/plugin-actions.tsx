/**
 * The lifecycle buttons of a plugin (start, stop, reload, freeze, unfreeze), offered by its state, and what each
 * one answered: the new state, or the server's error message, announced to screen readers as a status.
 */
import { useState } from "preact/hooks";
import type { PluginInfo } from "./api-types.ts";
import { live } from "./live-store.ts";
import { type Feedback, FeedbackLine } from "./feedback-line.tsx";
import { api, errorText } from "./server-api.ts";
import { type StringKey, t } from "./strings.ts";

type Action = "start" | "stop" | "reload" | "freeze" | "unfreeze";

const LABELS: Record<Action, StringKey> = {
  start: "action.start",
  stop: "action.stop",
  reload: "action.reload",
  freeze: "action.freeze",
  unfreeze: "action.unfreeze",
};

/** What makes sense in each state; an extension is controlled through its host plugin instead. */
function actionsFor(plugin: PluginInfo): Action[] {
  if (plugin.type === "extension") return [];
  switch (plugin.status) {
    case "running":
      return ["stop", "reload", "freeze"];
    case "frozen":
      return ["unfreeze", "stop"];
    case "starting":
    case "stopping":
      return ["stop"];
    case "disabled":
      return [];
    default:
      return ["start", "reload"];
  }
}

export function PluginActions({ plugin, compact = false }: { plugin: PluginInfo; compact?: boolean }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const run = async (action: Action) => {
    const name = t(LABELS[action]);
    setBusy(action);
    setFeedback({ kind: "working", text: t("action.working", { action: name, id: plugin.id }) });
    try {
      const answer = await api<{ status: string }>("POST", `/plugin/${encodeURIComponent(plugin.id)}/${action}`);
      setFeedback({ kind: "ok", text: t("action.done", { action: name, id: plugin.id, status: answer.status }) });
    } catch (error) {
      setFeedback({
        kind: "error",
        text: t("action.failed", { action: name, id: plugin.id, message: errorText(error) }),
      });
    } finally {
      setBusy(null);
      void live.refreshPlugins();
    }
  };
  return (
    <div class={compact ? "actions compact" : "actions"}>
      <div class="buttons">
        {actionsFor(plugin).map((action) => (
          <button
            key={action}
            type="button"
            class={action === "stop" ? "danger" : ""}
            disabled={busy !== null}
            aria-label={compact ? `${t(LABELS[action])} ${plugin.name}` : undefined}
            onClick={() => void run(action)}
          >
            {t(LABELS[action])}
          </button>
        ))}
      </div>
      <FeedbackLine feedback={feedback} />
    </div>
  );
}
