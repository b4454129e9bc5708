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
 * still loading gets it when its heading appears — unless the user has put the focus somewhere else meanwhile. The
 * first view of a visit leaves the focus where the browser put it (the skip link comes first).
 */
function useFocusOnNewView(view: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const main = document.querySelector("main")!;
    const leftAt = document.activeElement;
    const focusHeading = () => {
      const heading = main.querySelector<HTMLElement>("h1");
      if (!heading) return false;
      const active = document.activeElement;
      if (active === leftAt || active === document.body || active === main || active === null) heading.focus();
      return true;
    };
    if (focusHeading()) return;
    const observer = new MutationObserver(() => {
      if (focusHeading()) observer.disconnect();
    });
    observer.observe(main, { childList: true, subtree: true });
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
          {top !== undefined && !KNOWN_VIEWS.has(top) && <NotFoundView />}
        </ErrorBoundary>
      </main>
    </>
  );
}

const KNOWN_VIEWS = new Set(["plugins", "messages", "events"]);

function NotFoundView() {
  return (
    <section aria-labelledby="not-found-title">
      <h1 tabIndex={-1} id="not-found-title">
        {t("notFound.title")}
      </h1>
      <p>
        <a href="#/">{t("nav.dashboard")}</a>
      </p>
    </section>
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
          // The form appears above the view the user was reading: it takes the focus so that it is noticed.
          // biome-ignore lint/a11y/noAutofocus: the page cannot go on without the token
          autoFocus
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
