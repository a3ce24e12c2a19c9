// The typed API client (openapi-fetch over the generated schema.d.ts) and `call`, which turns
// every failure into an ApiError so pages handle one kind of error.
import createClient, { type Middleware } from "openapi-fetch";
import { getToken, sessionExpired } from "../auth/session";
import { ApiError, toApiError, unreachableError } from "./errors";
import type { paths } from "./schema";

const LOGIN_PATH = "/api/v1/auth/login";

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ request, response }) {
    // A rejected token (expired, revoked, secret rotated): back to the login page.
    if (response.status === 401 && !request.url.endsWith(LOGIN_PATH) && request.headers.has("Authorization")) {
      sessionExpired();
    }
    return response;
  },
};

export function createApiClient(options: { baseUrl?: string; fetch?: typeof fetch } = {}) {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? (typeof window !== "undefined" ? window.location.origin : ""),
    // Looked up on every call (not captured once), so tests can swap the global fetch.
    fetch: options.fetch ?? ((input: Request) => globalThis.fetch(input)),
  });
  client.use(auth);
  return client;
}

export type ApiClient = ReturnType<typeof createApiClient>;

export const api: ApiClient = createApiClient();

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Await an openapi-fetch call; return its data or throw an ApiError (status 0 when unreachable). */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw unreachableError();
  }
  const { response } = result;
  if (!response.ok) throw toApiError(response.status, result.error, response.headers);
  return result.data as T;
}
