// The access token lives in sessionStorage: it survives a reload of this tab, not the browser's
// end, and is never shared with other tabs. Listeners hear when the API rejects it (401).

const TOKEN_KEY = "svcstack.token";
// Who signed in, so the header still names them while the API is down after a reload.
const EMAIL_KEY = "svcstack.email";

type Listener = () => void;
const expiredListeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the user logs in again after a reload
  }
}

export function setToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled: the token is lost on reload, which only means logging in again */
  }
}

export function rememberEmail(email: string): void {
  try {
    sessionStorage.setItem(EMAIL_KEY, email);
  } catch {
    /* storage disabled: the header shows no name while the API is down */
  }
}

export function rememberedEmail(): string | null {
  try {
    return sessionStorage.getItem(EMAIL_KEY);
  } catch {
    return null;
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EMAIL_KEY);
  } catch {
    /* nothing stored */
  }
}

/** Called by the API client when a request carrying the token came back 401. */
export function sessionExpired(): void {
  clearToken();
  for (const listener of expiredListeners) listener();
}

export function onSessionExpired(listener: Listener): () => void {
  expiredListeners.add(listener);
  return () => {
    expiredListeners.delete(listener);
  };
}
