import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { fakeApi, json } from "../test/fakeApi";
import { ApiKeysPage } from "./ApiKeysPage";

const KEY = "sk_abcdefgh_0123456789abcdefghijklmnopqrstuvwxyzABCD";

describe("ApiKeysPage", () => {
  it("asks for a name before calling the API", async () => {
    const seen = fakeApi(() => json([]));
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
      return json(created ? [row] : []);
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
});
