/**
 * The manager page (SPEC §5.2, docs/manager.md): a Preact app with hash routes — `#/` dashboard, `#/plugins`,
 * `#/plugins/<id>/<section>`, `#/messages`, `#/events` — drawn from the live store, and a token form when the server
 * answers 401.
 */
import "./manager.css";
import { render } from "preact";
import { useEffect, useReducer, useState } from "preact/hooks";
import { live } from "./live-store.ts";
import { onUnauthorized, setApiToken } from "./server-api.ts";
import { type StringKey, t } from "./strings.ts";
import { EventsView, MessagesView } from "./views/bus-records-view.tsx";
import { DashboardView } from "./views/dashboard-view.tsx";
import { PluginDetailView } from "./views/plugin-detail-view.tsx";
import { PluginsView } from "./views/plugins-view.tsx";

function useHashRoute(): string[] {
  const read = () => decodeURIComponentSafe(location.hash.replace(/^#\/?/, "")).split("/").filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function useLiveStore(): typeof live {
  const [, redraw] = useReducer((n: number, _: undefined) => n + 1, 0);
  useEffect(() => live.subscribe(() => redraw(undefined)), []);
  return live;
}

const NAV: { route: string; label: StringKey }[] = [
  { route: "", label: "nav.dashboard" },
  { route: "plugins", label: "nav.plugins" },
  { route: "messages", label: "nav.messages" },
  { route: "events", label: "nav.events" },
];

function App() {
  const store = useLiveStore();
  const route = useHashRoute();
  const [needsToken, setNeedsToken] = useState(false);
  useEffect(() => onUnauthorized(() => setNeedsToken(true)), []);
  useEffect(() => {
    // A new view starts at its top, and its heading is where keyboard and screen-reader users land.
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route.join("/")]);
  const [top, id, section] = route;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">{t("app.title")}</span>
        <nav aria-label={t("nav.label")}>
          {NAV.map((n) => (
            <a key={n.route} href={`#/${n.route}`} aria-current={(top ?? "") === n.route ? "page" : undefined}>
              {t(n.label)}
            </a>
          ))}
        </nav>
        <ConnectionState connection={store.connection} />
      </header>
      <main id="main">
        {needsToken && (
          <TokenForm
            onDone={() => {
              setNeedsToken(false);
              live.restart();
            }}
          />
        )}
        {top === undefined && <DashboardView store={store} />}
        {top === "plugins" && id === undefined && <PluginsView store={store} />}
        {top === "plugins" && id !== undefined && (
          <PluginDetailView key={id} store={store} id={id} section={section ?? "overview"} />
        )}
        {top === "messages" && <MessagesView store={store} />}
        {top === "events" && <EventsView store={store} />}
      </main>
    </>
  );
}

function ConnectionState({ connection }: { connection: string }) {
  const key: StringKey = connection === "open" ? "live.open" : connection === "lost" ? "live.lost" : "live.connecting";
  return (
    <p class={`connection connection-${connection}`} role="status">
      {t(key)}
    </p>
  );
}

function TokenForm({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState("");
  return (
    <form
      class="card token-form"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!token.trim()) return;
        setApiToken(token.trim());
        onDone();
      }}
    >
      <h2 id="token-title">{t("auth.title")}</h2>
      <p class="muted">{t("auth.hint")}</p>
      <div class="field">
        <label for="api-token">{t("auth.label")}</label>
        <input
          id="api-token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <button type="submit">{t("auth.submit")}</button>
    </form>
  );
}

live.start();
render(<App />, document.getElementById("app")!);
