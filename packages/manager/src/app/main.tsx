/**
 * The manager page (SPEC §5.2, docs/manager.md): a Preact app with hash routes — `#/` dashboard, `#/plugins`,
 * `#/plugins/<id>/<section>`, `#/messages`, `#/events` — drawn from the live store, and a token form when the server
 * answers 401.
 */
import "./manager.css";
import { render } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { ErrorBoundary } from "./error-boundary.tsx";
import { live } from "./live-store.ts";
import { onUnauthorized, setApiToken } from "./server-api.ts";
import { type StringKey, t } from "./strings.ts";
import { DashboardView } from "./views/dashboard-view.tsx";
import { EventsView } from "./views/events-view.tsx";
import { MessagesView } from "./views/messages-view.tsx";
import { PluginDetailView } from "./views/plugin-detail-view.tsx";
import { PluginsView } from "./views/plugins-view.tsx";

function readRoute(): string[] {
  let hash = location.hash.replace(/^#\/?/, "");
  try {
    hash = decodeURIComponent(hash);
  } catch {
    // a malformed escape: the text as it is
  }
  return hash.split("/").filter(Boolean);
}

function useHashRoute(): string[] {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function useLiveStore(): typeof live {
  const [, redraw] = useReducer((n: number, _: undefined) => n + 1, 0);
  useEffect(() => live.subscribe(() => redraw(undefined)), []);
  return live;
}

/**
 * A new view moves the focus to its heading, where keyboard and screen-reader users expect to land; a view that is
 * still loading gets it when its heading appears.
 */
function useFocusOnNewView(view: string): void {
  const focused = useRef<string | null>(null);
  useEffect(() => {
    const focusHeading = () => {
      const heading = document.querySelector<HTMLElement>("main h1");
      if (!heading || focused.current === view) return;
      focused.current = view;
      heading.focus();
    };
    focusHeading();
    const observer = new MutationObserver(focusHeading);
    observer.observe(document.querySelector("main")!, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [view]);
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
  const [tokenAsked, setTokenAsked] = useState<null | "missing" | "refused">(null);
  useEffect(() => onUnauthorized((refused) => setTokenAsked(refused ? "refused" : "missing")), []);
  const [top, id, section] = route;
  // A plugin's sections are one view: switching tabs keeps the focus on the tab, and the plugin is not read again.
  const view = top === "plugins" && id !== undefined ? `plugins/${id}` : (top ?? "");
  useFocusOnNewView(view);
  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a real link to the content; only its hash would change the route */}
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          // The hash holds the route: going to #main would leave the view.
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        {t("app.skip")}
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
      <main id="main" tabIndex={-1}>
        {tokenAsked && (
          <TokenForm
            refused={tokenAsked === "refused"}
            onDone={() => {
              setTokenAsked(null);
              live.restart();
            }}
          />
        )}
        <ErrorBoundary key={view} what={view || t("nav.dashboard")}>
          {top === undefined && <DashboardView store={store} />}
          {top === "plugins" && id === undefined && <PluginsView store={store} />}
          {top === "plugins" && id !== undefined && (
            <PluginDetailView key={id} store={store} id={id} section={section ?? "overview"} />
          )}
          {top === "messages" && <MessagesView store={store} />}
          {top === "events" && <EventsView store={store} />}
        </ErrorBoundary>
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

function TokenForm({ refused, onDone }: { refused: boolean; onDone: () => void }) {
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState<StringKey | null>(refused ? "auth.refused" : null);
  return (
    <form
      class="card token-form"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        const kept = setApiToken(token);
        if (kept.ok) onDone();
        else setProblem(kept.reason === "empty" ? "auth.empty" : "auth.characters");
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
          aria-invalid={problem ? "true" : undefined}
          aria-describedby={problem ? "api-token-error" : undefined}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
        {problem && (
          <p class="field-error" id="api-token-error" role="alert">
            {t(problem)}
          </p>
        )}
      </div>
      <button type="submit">{t("auth.submit")}</button>
    </form>
  );
}

// Drawn first: whatever the connection does, the page is there.
render(<App />, document.getElementById("app")!);
live.start();
