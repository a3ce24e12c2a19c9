// The shell: who is signed in, which page is shown, and what happens when the API is down or the
// session ends. Pages get their data themselves.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { api, call } from "./api/client";
import { ApiError } from "./api/errors";
import type { Me } from "./api/types";
import { clearToken, getToken, onSessionExpired, rememberEmail, rememberedEmail, setToken } from "./auth/session";
import { ErrorState } from "./components/ErrorState";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { ItemsPage } from "./pages/ItemsPage";
import { LoginPage } from "./pages/LoginPage";
import { retryDelay, whenVisibleAfter } from "./lib/retry";
import { handleLinkClick, navigate, useLocation } from "./lib/router";

// Admins only, with the queue chart's library: loaded when first shown, so the items page's bundle
// does not carry it.
const ServicesPage = lazy(() => import("./pages/ServicesPage").then((m) => ({ default: m.ServicesPage })));
const LOADING_PAGE = <p className="loading" role="status">Loading…</p>;

export const EXPIRED_NOTICE = "Your session has expired. Please sign in again.";

type Auth =
  | { state: "checking" }
  | { state: "anonymous"; notice?: string }
  | { state: "signed-in"; me: Me }
  | { state: "unreachable"; error: unknown };

const PAGES = [
  { path: "/items", label: "Items" },
  { path: "/api-keys", label: "API keys" },
  { path: "/admin/services", label: "Services", adminOnly: true },
] as const;

async function whoAmI(): Promise<Auth> {
  try {
    const me = await call(api.GET("/api/v1/auth/me"));
    rememberEmail(me.email);
    return { state: "signed-in", me };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      clearToken();
      return { state: "anonymous", notice: EXPIRED_NOTICE };
    }
    return { state: "unreachable", error };
  }
}

function initialAuth(): Auth {
  return getToken() ? { state: "checking" } : { state: "anonymous" };
}

export function App() {
  const location = useLocation();
  const [auth, setAuth] = useState<Auth>(initialAuth);
  const mainRef = useRef<HTMLElement>(null);

  const [check, setCheck] = useState(0);
  const [failedChecks, setFailedChecks] = useState(0);

  // A stored token is checked once on start (and on Retry): expired -> login, API down -> retry.
  useEffect(() => {
    if (!getToken()) return;
    let cancelled = false;
    void whoAmI().then((next) => {
      if (cancelled) return;
      setAuth(next);
      setFailedChecks((n) => (next.state === "unreachable" ? n + 1 : 0));
    });
    return () => {
      cancelled = true;
    };
  }, [check]);

  // API down: ask again by itself, with backoff, while the page is visible.
  useEffect(() => {
    if (auth.state !== "unreachable") return;
    const delay = retryDelay(auth.error, failedChecks - 1);
    return delay === null ? undefined : whenVisibleAfter(delay, () => setCheck((n) => n + 1));
  }, [auth, failedChecks]);

  useEffect(() => onSessionExpired(() => setAuth({ state: "anonymous", notice: EXPIRED_NOTICE })), []);

  const signedIn = auth.state === "signed-in";
  // With a stored token the page starts loading its data while /me is still being checked: one
  // round trip less before the table shows. A rejected token sends both back to the login page.
  const showApp = signedIn || auth.state === "checking";
  const me = auth.state === "signed-in" ? auth.me : null;
  // While the API is down the header keeps the way around and who is signed in (from this tab).
  const showHeader = showApp || auth.state === "unreachable";
  const email = me?.email ?? (auth.state === "unreachable" ? rememberedEmail() : null);
  const path = location.path;

  // Keep the URL honest: the login page only when signed out, nothing else until signed in.
  useEffect(() => {
    if (auth.state === "anonymous" && path !== "/login") {
      // From the rendered location, not window.location: the effect may run again (StrictMode)
      // after the URL already changed, and must not nest ?next= into itself.
      const query = location.search.toString();
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + (query ? `?${query}` : ""))}`;
      navigate(`/login${next}`, { replace: true });
    } else if (signedIn && (path === "/login" || path === "/")) {
      const next = location.search.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/items", { replace: true });
    }
  }, [auth.state, signedIn, path, location.search]);

  // Move focus to the new page's heading so screen readers and keyboards start there.
  useEffect(() => {
    mainRef.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [path, showApp]);

  async function loggedIn(token: string) {
    setToken(token);
    setAuth(await whoAmI());
  }

  function logout() {
    clearToken();
    navigate("/login"); // a plain login page: signing out is not "come back here afterwards"
    setAuth({ state: "anonymous", notice: "You have signed out." });
  }

  let page: React.ReactNode;
  if (auth.state === "unreachable") {
    page = (
      <section aria-labelledby="down-heading">
        <h1 id="down-heading" tabIndex={-1}>Service Stack</h1>
        <ErrorState error={auth.error} onRetry={() => { setAuth({ state: "checking" }); setCheck((n) => n + 1); }} />
      </section>
    );
  } else if (auth.state === "anonymous") {
    page = <LoginPage notice={auth.notice} onLoggedIn={loggedIn} />;
  } else if (path === "/items") {
    page = <ItemsPage search={location.search} />;
  } else if (path === "/api-keys") {
    page = <ApiKeysPage />;
  } else if (path === "/admin/services") {
    page = me === null ? <p className="loading" role="status">Loading…</p> : me.is_admin ? <Suspense fallback={LOADING_PAGE}><ServicesPage /></Suspense> : (
      <section><h1 tabIndex={-1}>Services</h1><p>Only administrators can see the services.</p></section>
    );
  } else if (path === "/login" || path === "/") {
    page = <p className="loading" role="status">Loading…</p>;
  } else {
    page = (
      <section>
        <h1 tabIndex={-1}>Page not found</h1>
        <p><a href="/items" onClick={(e) => handleLinkClick(e, "/items")}>Go to the items</a></p>
      </section>
    );
  }

  return (
    <>
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <span className="brand">Service Stack</span>
        {showHeader && (
          <>
            <nav aria-label="Main">
              <ul>
                {PAGES.filter((p) => !("adminOnly" in p) || me?.is_admin).map((p) => (
                  <li key={p.path}>
                    <a href={p.path} onClick={(e) => handleLinkClick(e, p.path)}
                       aria-current={path === p.path ? "page" : undefined}>{p.label}</a>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="account">
              <span className="who">{email}</span>
              <button type="button" onClick={logout}>Log out</button>
            </div>
          </>
        )}
      </header>
      <main id="main" ref={mainRef}>{page}</main>
    </>
  );
}
