/**
 * A plugin's configuration: a form generated from its config schema (`GET /plugin/{id}/config/schema`) saved as a
 * hot update (permanent, or temporary until the process restarts), the server's refusal shown with the key it names;
 * plugin.toml as text for everything else; the profiles with the active one switchable; and the effective
 * configuration the plugin runs with.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { JsonSchema } from "../api-types.ts";
import { type Feedback, FeedbackLine } from "../feedback-line.tsx";
import { JsonBlock } from "../json-block.tsx";
import { SchemaForm } from "../schema-form.tsx";
import { fieldErrorsOf, getOwn, idSafe, safeSchema, setOwn } from "../schema-values.ts";
import { ApiError, api, errorText } from "../server-api.ts";
import { t } from "../strings.ts";

interface ConfigAnswer {
  config: Record<string, unknown>;
  profile: string | null;
  temporary: boolean;
  running: boolean;
}

interface ProfilesAnswer {
  active: string | null;
  profiles: { name: string; exists: boolean; problem: string | null }[];
}

export function ConfigPanel({ pluginId }: { pluginId: string }) {
  const base = `/plugin/${encodeURIComponent(pluginId)}/config`;
  const [config, setConfig] = useState<ConfigAnswer | null>(null);
  const [schema, setSchema] = useState<JsonSchema | null | undefined>(undefined);
  const [loadProblem, setLoadProblem] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  // Bumped by a change the form did not make (plugin.toml saved, a profile switched): the form starts over from it.
  const [formVersion, setFormVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const resetForm = useRef(false);
  const reloadAll = () => {
    resetForm.current = true;
    reload();
  };
  useEffect(() => {
    api<ConfigAnswer>("GET", base).then(
      (answer) => {
        setConfig(answer);
        if (resetForm.current) setFormVersion((v) => v + 1);
        resetForm.current = false;
      },
      (e: unknown) => setLoadProblem(errorText(e)),
    );
    api<{ schema: unknown }>("GET", `${base}/schema`).then(
      (answer) => setSchema(safeSchema(answer.schema)),
      () => setSchema(null),
    );
  }, [pluginId, version]);
  if (loadProblem) return <p role="alert">{loadProblem}</p>;
  if (!config || schema === undefined) return <p>{t("common.loading")}</p>;
  return (
    <>
      <h2>{t("detail.config")}</h2>
      {config.temporary && <p class="notice">{t("config.temporaryActive")}</p>}
      {schema ? (
        <SchemaConfigForm
          key={formVersion}
          base={base}
          pluginId={pluginId}
          schema={schema}
          config={config.config}
          onSaved={reload}
        />
      ) : (
        <p class="muted">{t("config.noSchema")}</p>
      )}
      <TomlEditor base={base} pluginId={pluginId} version={version} onSaved={reloadAll} />
      <Profiles base={base} version={version} onChanged={reloadAll} />
      <h3>{t("config.effective")}</h3>
      <JsonBlock value={config.config} label={t("config.effective")} />
    </>
  );
}

function SchemaConfigForm(props: {
  base: string;
  pluginId: string;
  schema: JsonSchema;
  config: Record<string, unknown>;
  onSaved: () => void;
}) {
  // The form holds the keys the schema describes; the manifest's own tables are not the form's business.
  const pick = () => {
    const picked: Record<string, unknown> = {};
    for (const key of Object.keys(props.schema.properties ?? {})) {
      const value = getOwn(props.config, key);
      if (value !== undefined) setOwn(picked, key, value);
    }
    return picked;
  };
  const [value, setValue] = useState<Record<string, unknown>>(pick);
  const [temporary, setTemporary] = useState(false);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const busy = feedback?.kind === "working";
  const save = async () => {
    if (busy) return;
    setFeedback({ kind: "working", text: t("common.loading") });
    try {
      await api("POST", `${props.base}/hot-update`, {
        body: { config: value, mode: temporary ? "temporary" : "permanent" },
      });
      setErrors(new Map());
      setFeedback({ kind: "ok", text: t("config.saved") });
      props.onSaved();
    } catch (error) {
      setErrors(error instanceof ApiError ? fieldErrorsOf(error.details) : new Map());
      setFeedback({ kind: "error", text: t("config.refused", { message: errorText(error) }) });
    }
  };
  return (
    <section aria-labelledby="config-form-title">
      <h3 id="config-form-title">{t("config.form")}</h3>
      <p class="muted">{t("config.formHint")}</p>
      <form
        noValidate
        aria-labelledby="config-form-title"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <SchemaForm
          schema={props.schema}
          value={value}
          onChange={setValue}
          formId={`config-${idSafe(props.pluginId)}`}
          errors={errors}
        />
        <div class="field field-check">
          <input
            id="config-temporary"
            type="checkbox"
            checked={temporary}
            onChange={(e) => setTemporary((e.currentTarget as HTMLInputElement).checked)}
          />
          <label for="config-temporary">{t("config.temporary")}</label>
        </div>
        <div class="buttons">
          <button type="submit" disabled={busy}>
            {t("common.save")}
          </button>
        </div>
        <FeedbackLine feedback={feedback} />
      </form>
    </section>
  );
}

function TomlEditor({
  base,
  pluginId,
  version,
  onSaved,
}: {
  base: string;
  pluginId: string;
  version: number;
  onSaved: () => void;
}) {
  const [text, setText] = useState<string | null>(null);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  useEffect(() => {
    api<{ toml: string }>("GET", `${base}/toml`).then(
      (a) => setText(a.toml),
      (e: unknown) => setFeedback({ kind: "error", text: errorText(e) }),
    );
  }, [pluginId, version]);
  const busy = feedback?.kind === "working";
  const save = async () => {
    if (text === null || busy) return;
    setFeedback({ kind: "working", text: t("common.loading") });
    try {
      await api("PUT", `${base}/toml`, { body: { toml: text } });
      setFeedback({ kind: "ok", text: t("config.saved") });
      onSaved();
    } catch (error) {
      setFeedback({ kind: "error", text: t("config.refused", { message: errorText(error) }) });
    }
  };
  return (
    <section aria-labelledby="toml-title">
      <h3 id="toml-title">{t("config.toml")}</h3>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label for="config-toml" class="visually-hidden">
          {t("config.tomlLabel")}
        </label>
        <textarea
          id="config-toml"
          class="code"
          rows={12}
          spellcheck={false}
          value={text ?? ""}
          disabled={text === null}
          onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <div class="buttons">
          <button type="submit" disabled={text === null || busy}>
            {t("config.saveToml")}
          </button>
        </div>
        <FeedbackLine feedback={feedback} />
      </form>
    </section>
  );
}

function Profiles({ base, version, onChanged }: { base: string; version: number; onChanged: () => void }) {
  const [profiles, setProfiles] = useState<ProfilesAnswer | null>(null);
  const [chosen, setChosen] = useState("");
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  useEffect(() => {
    api<ProfilesAnswer>("GET", `${base}/profiles`).then(
      (p) => {
        setProfiles(p);
        setChosen(p.active ?? "");
      },
      () => setProfiles(null),
    );
  }, [base, version]);
  if (!profiles) return null;
  const busy = feedback?.kind === "working";
  const activate = async () => {
    if (busy) return;
    setFeedback({ kind: "working", text: t("common.loading") });
    try {
      await api("PUT", `${base}/profiles/active`, { body: { name: chosen === "" ? null : chosen } });
      setFeedback({ kind: "ok", text: t("config.saved") });
      onChanged();
    } catch (error) {
      setFeedback({ kind: "error", text: t("config.refused", { message: errorText(error) }) });
    }
  };
  return (
    <section aria-labelledby="profiles-title">
      <h3 id="profiles-title">{t("config.profiles")}</h3>
      {profiles.profiles.length === 0 ? (
        <p class="muted">{t("config.noProfiles")}</p>
      ) : (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void activate();
          }}
        >
          <label for="config-profile">{t("config.activeProfile")}</label>
          <select
            id="config-profile"
            value={chosen}
            onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t("config.noProfile")}</option>
            {profiles.profiles.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
                {p.problem ? ` (${p.problem})` : ""}
              </option>
            ))}
          </select>
          <button type="submit" disabled={busy}>
            {t("config.activate")}
          </button>
          <FeedbackLine feedback={feedback} />
        </form>
      )}
    </section>
  );
}
