// A fake API for component tests: a function from Request to Response stands in for fetch.
// (The real API is exercised by the browser tests in tests/e2e.)
import { vi } from "vitest";

export type Handler = (request: Request) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function apiError(status: number, code: string, message: string, details: unknown[] = [],
                         headers: Record<string, string> = {}): Response {
  return json({ error: { code, message, details } }, status, headers);
}

/** Replace fetch; returns the list of requests seen (method + path + query). */
export function fakeApi(handler: Handler): string[] {
  const seen: string[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}${url.search}`);
    return handler(request);
  });
  return seen;
}

let nextId = 1;

export function makeItem(overrides: Record<string, unknown> = {}) {
  const id = nextId++;
  return {
    id,
    user_id: 1,
    title: `Item ${id}`,
    description: "",
    status: "done",
    metadata: {},
    attempts: 1,
    error: null,
    created_at: "2026-01-01T10:00:00+00:00",
    updated_at: "2026-01-01T10:00:00+00:00",
    ...overrides,
  };
}

export function itemPage(
  items: unknown[],
  { page = 1, limit = 25, total = items.length, estimate = false } = {},
) {
  return {
    items, total, page, limit, pages: Math.ceil(total / limit), next_cursor: null, total_is_estimate: estimate,
  };
}
