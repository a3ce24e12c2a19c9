import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { fakeApi, json } from "../test/fakeApi";
import { ApiKeysPage } from "./ApiKeysPage";

const KEY = "sk_abcdefgh_0123456789abcdefghijklmnopqrstuvwxyzABCD";
/** The API's answer to GET /api/v1/api-keys: one page of keys, newest first. */
const keyPage = (items: object[], page = 1, limit = 50, total = items.length) =>
  ({ items, total, page, limit, pages: Math.ceil(total / limit), next_cursor: null });

describe("ApiKeysPage", () => {
  it("asks for a name before calling the API", async () => {
    const seen = fakeApi(() => json(keyPage([])));
    render(<ApiKeysPage />);
    await screen.findByText("No API keys yet.");
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByLabelText("Key name").getAttribute("aria-invalid")).toBe("true");
    expect(seen.filter((r) => r.startsWith("POST"))).toEqual([]);
  });

  it("shows the new key once, then only its prefix", async () => {
    let created = false;
    const row = { id: 1, name: "ci", prefix: "abcdefgh", created_at: "2026-01-01T00:00:00+00:00",
                  last_used_at: null, revoked_at: null };
    fakeApi((request) => {
      if (request.method === "POST") {
        created = true;
        return json({ ...row, key: KEY }, 201);
      }
      return json(keyPage(created ? [row] : []));
    });
    render(<ApiKeysPage />);
    await userEvent.type(await screen.findByLabelText("Key name"), "ci");
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect((await screen.findByLabelText<HTMLInputElement>("New API key")).value).toBe(KEY);
    await userEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByLabelText("New API key")).toBeNull();
    expect(document.body.textContent).not.toContain(KEY);
    expect(await screen.findByText("abcdefgh")).toBeTruthy();
  });

  it("lists the newest key first and hides revoked keys behind a toggle", async () => {
    const key = (id: number, name: string, created: string, revoked: string | null = null) => ({
      id, name, prefix: `prefix${id}`, created_at: created, last_used_at: null, revoked_at: revoked });
    fakeApi(() => json(keyPage([
      key(3, "newest", "2026-01-04T00:00:00+00:00"),
      key(2, "revoked one", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"),
      key(1, "oldest", "2026-01-01T00:00:00+00:00"),
    ])));
    render(<ApiKeysPage />);
    await screen.findByText("newest");
    const names = () => Array.from(document.querySelectorAll("tbody tr td:first-child")).map((td) => td.textContent);
    expect(names()).toEqual(["newest", "oldest"]);
    await userEvent.click(screen.getByLabelText("Show revoked keys (1)"));
    expect(names()).toEqual(["newest", "revoked one", "oldest"]);
  });

  it("asks for the next page and says how many keys there are", async () => {
    const key = (id: number) => ({ id, name: `key ${id}`, prefix: `prefix${id}`,
      created_at: "2026-01-01T00:00:00+00:00", last_used_at: null, revoked_at: null });
    const seen = fakeApi((request) => {
      const page = Number(new URL(request.url).searchParams.get("page") ?? "1");
      return json(keyPage(page === 1 ? [key(60), key(59)] : [key(2), key(1)], page, 50, 52));
    });
    render(<ApiKeysPage />);
    await screen.findByText("key 60");
    expect(screen.getByText("Keys 1–50 of 52")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: /Next/ }));
    await screen.findByText("key 2");
    expect(seen.some((r) => r.includes("page=2"))).toBe(true);
  });

  it("says to revoke a key when the API refuses one more", async () => {
    fakeApi((request) => request.method === "POST"
      ? json({ error: { code: "conflict", details: [],
                        message: "you have 3 active API keys, the most allowed: revoke one to create another" } }, 409)
      : json(keyPage([])));
    render(<ApiKeysPage />);
    await userEvent.type(await screen.findByLabelText("Key name"), "one more");
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect((await screen.findByRole("alert")).textContent).toContain("revoke one to create another");
  });

  it("ends the hint with one period", async () => {
    fakeApi(() => json(keyPage([])));
    render(<ApiKeysPage />);
    expect(document.querySelector(".hint")?.textContent).not.toMatch(/\.\.|…\.$/);
  });
});
