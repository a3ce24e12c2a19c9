import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi, itemPage, json, makeItem } from "../test/fakeApi";
import { ItemsPage } from "./ItemsPage";

function renderItems(search = "") {
  return render(<ItemsPage search={new URLSearchParams(search)} />);
}

describe("ItemsPage", () => {
  it("refreshes badges while items are processing, then stops polling", async () => {
    const item = makeItem({ status: "pending" });
    let calls = 0;
    const seen = fakeApi(() => {
      calls += 1;
      return json(itemPage([{ ...item, status: calls === 1 ? "pending" : "done" }]));
    });
    renderItems();
    expect(await screen.findByText("Pending")).toBeTruthy();
    await waitFor(() => expect(screen.getByText("Done")).toBeTruthy(), { timeout: 5000 });
    const after = seen.length;
    // Nothing pending any more: no further request within another poll interval.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(seen.length).toBe(after);
  }, 10000);

  it("shows HTML in a title as text", async () => {
    fakeApi(() => json(itemPage([makeItem({ title: "<img src=x onerror=alert(1)><b>bold</b>" })])));
    const { container } = renderItems();
    expect(await screen.findByText("<img src=x onerror=alert(1)><b>bold</b>")).toBeTruthy();
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("td b")).toBeNull();
  });

  it("shows a lower-bound total with a plus, and still offers the next page", async () => {
    const items = Array.from({ length: 25 }, (_, n) => makeItem({ id: 500 - n, title: `item ${500 - n}` }));
    fakeApi(() => json(itemPage(items, { total: 10000, estimate: true })));
    renderItems();
    expect(await screen.findByText("Items 1–25 of 10000+")).toBeTruthy();
    expect(screen.getByRole("button", { name: /next/i }).hasAttribute("disabled")).toBe(false);
  });

  it("has an empty state with a way forward", async () => {
    fakeApi(() => json(itemPage([])));
    renderItems();
    expect(await screen.findByText("No items yet.")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Create your first item" })).toBeTruthy();
  });

  it("says when to try again after a 429", async () => {
    fakeApi(() => apiError(429, "rate_limited", "rate limit exceeded", [], { "Retry-After": "30" }));
    renderItems();
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText(/try again in 30 s/i)).toBeTruthy();
    expect(within(alert).getByRole("button", { name: "Try again" }).hasAttribute("disabled")).toBe(true);
  });

  it("offers a retry when the API is down, and recovers", async () => {
    let up = false;
    fakeApi(() => (up ? json(itemPage([makeItem({ title: "back again" })])) : new Response("", { status: 502 })));
    renderItems();
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("Cannot reach the API.")).toBeTruthy();
    up = true;
    await userEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByText("back again")).toBeTruthy();
    expect(screen.queryByText("Cannot reach the API.")).toBeNull();
  });

  it("recovers by itself when the API comes back", async () => {
    let up = false;
    fakeApi(() => (up ? json(itemPage([makeItem({ title: "back by itself" })])) : new Response("", { status: 502 })));
    renderItems();
    expect(within(await screen.findByRole("alert")).getByText(/Trying again by itself/)).toBeTruthy();
    up = true;
    expect(await screen.findByText("back by itself", {}, { timeout: 5000 })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  }, 10000);

  it("never shows page 1 under a URL that says page 2", async () => {
    const first = Array.from({ length: 25 }, (_, n) => makeItem({ title: `first page ${n}` }));
    fakeApi((request) => (new URL(request.url).searchParams.get("page") === "2"
      ? new Response("", { status: 502 })
      : json(itemPage(first, { total: 30 }))));
    const view = renderItems();
    expect(await screen.findByText("first page 0")).toBeTruthy();
    view.rerender(<ItemsPage search={new URLSearchParams("page=2")} />);
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("Cannot reach the API.")).toBeTruthy();
    expect(screen.queryByText("first page 0")).toBeNull();
    expect(screen.getByRole("button", { name: /page 2/i }).getAttribute("aria-current")).toBe("page");
  });

  it("shows the API's validation message on the title field", async () => {
    fakeApi((request) => {
      if (request.method === "POST") {
        return apiError(422, "validation_error", "request validation failed",
          [{ loc: ["body", "title"], msg: "String should have at least 1 character", type: "string_too_short" }]);
      }
      return json(itemPage([]));
    });
    renderItems();
    await userEvent.click(await screen.findByRole("button", { name: "New item" }));
    await userEvent.click(screen.getByRole("button", { name: "Create item" }));
    const title = screen.getByLabelText("Title");
    await waitFor(() => expect(title.getAttribute("aria-invalid")).toBe("true"));
    const describedBy = title.getAttribute("aria-describedby")!;
    expect(document.getElementById(describedBy)?.textContent).toBe("String should have at least 1 character");
    expect(document.activeElement).toBe(title);
  });

  it("sends the query the user chose", async () => {
    const seen = fakeApi(() => json(itemPage([makeItem()], { page: 2, limit: 10, total: 11 })));
    renderItems("page=2&limit=10&status=failed&q=abc");
    await screen.findByRole("navigation", { name: "Pagination" });
    expect(seen[0]).toBe("GET /api/v1/items?page=2&limit=10&status=failed&q=abc");
    expect(screen.getByRole("button", { name: "Page 2" }).getAttribute("aria-current")).toBe("page");
  });
});
