import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App, EXPIRED_NOTICE } from "./App";
import { getToken, setToken } from "./auth/session";
import { apiError, fakeApi, itemPage, json } from "./test/fakeApi";

const ME = { id: 1, email: "ann@example.com", is_admin: false, created_at: "2026-01-01T00:00:00+00:00" };

describe("App", () => {
  it("sends an expired session back to login, keeping where the user was", async () => {
    setToken("expired.jwt.token");
    window.history.replaceState(null, "", "/api-keys");
    fakeApi(() => apiError(401, "unauthorized", "token expired"));
    render(<App />);
    expect(await screen.findByText(EXPIRED_NOTICE)).toBeTruthy();
    await waitFor(() => expect(window.location.pathname).toBe("/login")); // set by an effect after render
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/api-keys");
    expect(getToken()).toBeNull();
  });

  it("shows a wrong password inline and keeps the user on the form", async () => {
    fakeApi(() => apiError(401, "unauthorized", "invalid email or password"));
    render(<App />);
    await userEvent.type(await screen.findByLabelText("Email"), "ann@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Wrong email or password.");
    expect(getToken()).toBeNull();
  });

  it("logs in, shows the items, and logs out", async () => {
    fakeApi((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/login") return json({ access_token: "t0k", token_type: "bearer", expires_in: 3600 });
      if (request.headers.get("Authorization") !== "Bearer t0k") return apiError(401, "unauthorized", "no");
      if (path === "/api/v1/auth/me") return json(ME);
      return json(itemPage([]));
    });
    render(<App />);
    await userEvent.type(await screen.findByLabelText("Email"), "ann@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "secret");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Items" })).toBeTruthy();
    expect(window.location.pathname).toBe("/items");
    expect(screen.queryByRole("link", { name: "Services" })).toBeNull(); // not an admin
    await userEvent.click(screen.getByRole("button", { name: "Log out" }));
    expect(await screen.findByText("You have signed out.")).toBeTruthy();
    expect(getToken()).toBeNull();
  });

  it("shows a clear message and a retry when the API is down at start", async () => {
    setToken("t0k");
    let up = false;
    fakeApi(() => (up ? json(ME) : Promise.reject(new TypeError("Failed to fetch"))));
    window.history.replaceState(null, "", "/items");
    render(<App />);
    expect(await screen.findByText("Cannot reach the API.")).toBeTruthy();
    up = true;
    fakeApi((request) => (new URL(request.url).pathname === "/api/v1/auth/me" ? json(ME) : json(itemPage([]))));
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByRole("heading", { name: "Items" })).toBeTruthy();
  });

  it("keeps the header while the API is down, and recovers without a click", async () => {
    setToken("t0k");
    sessionStorage.setItem("svcstack.email", "ann@example.com");
    let up = false;
    fakeApi((request) => {
      if (!up) return Promise.reject(new TypeError("Failed to fetch"));
      return new URL(request.url).pathname === "/api/v1/auth/me" ? json(ME) : json(itemPage([]));
    });
    window.history.replaceState(null, "", "/items");
    render(<App />);
    expect(await screen.findByText("Cannot reach the API.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Items" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Log out" })).toBeTruthy();
    expect(screen.getByText("ann@example.com")).toBeTruthy();
    up = true;
    expect(await screen.findByRole("heading", { name: "Items" }, { timeout: 5000 })).toBeTruthy();
  }, 10000);
});
