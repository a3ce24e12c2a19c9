import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi, json } from "../test/fakeApi";
import { FailedItems } from "./FailedItems";

const queue = (failed: number) => ({
  counts: { pending: 0, processing: 0, done: 0, failed }, total: failed, finished: failed, at: "2026-01-01T10:00:00+00:00",
  queues: [{ table: "items", counts: { pending: 0, processing: 0, done: 0, failed }, total: failed, finished: failed }],
});

describe("FailedItems", () => {
  it("lists failed items; requeue one takes it off the list, requeue all asks first", async () => {
    let failed = [3, 2, 1];
    let changed = 0;
    const seen = fakeApi((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/admin/queue") return json(queue(failed.length));
      if (request.method === "POST" && path === "/api/v1/admin/queue/items/failed/2/requeue") {
        failed = failed.filter((id) => id !== 2);
        return json({ table: "items", requeued: 1, remaining: failed.length });
      }
      if (request.method === "POST" && path === "/api/v1/admin/queue/items/failed/requeue") {
        const requeued = failed.length;
        failed = [];
        return json({ table: "items", requeued, remaining: 0 });
      }
      if (path === "/api/v1/admin/queue/items/failed/9/requeue") {
        return apiError(409, "conflict", "item 9 of items is pending, not failed: nothing changed");
      }
      return json({ table: "items", total: failed.length, limit: 50, next_cursor: null,
        items: failed.map((id) => ({ id, error: `boom ${id}`, attempts: 5, failed_at: "2026-01-01T10:00:00+00:00" })) });
    });
    render(<FailedItems onChanged={() => { changed += 1; }} />);
    const section = screen.getByRole("region", { name: "Failed items" });
    expect(await within(section).findByText("boom 2")).toBeTruthy();
    expect(within(section).getAllByRole("row")).toHaveLength(4); // the header and three items

    await userEvent.click(screen.getByRole("button", { name: "Requeue item 2" }));
    expect(await screen.findByText("Item 2 of items requeued; 2 still failed.")).toBeTruthy();
    expect(screen.queryByText("boom 2")).toBeNull();
    expect(seen).toContain("POST /api/v1/admin/queue/items/failed/2/requeue");

    const all = screen.getByRole("button", { name: "Requeue all failed items of items" });
    await userEvent.click(all);
    const dialog = screen.getByRole("dialog", { name: "Requeue all 2 failed items of items?" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(seen.filter((r) => r.endsWith("/failed/requeue"))).toEqual([]);
    expect(document.activeElement).toBe(all);
    await userEvent.click(all);
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Requeue all" }));
    expect(await screen.findByText("Requeued 2 items of items; none still failed.")).toBeTruthy();
    await waitFor(() => expect(screen.getByText("No failed items in items.")).toBeTruthy());
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(changed).toBe(2);
  });

  it("says why a requeue changed nothing", async () => {
    fakeApi((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/admin/queue") return json(queue(1));
      if (request.method === "POST") return apiError(409, "conflict", "item 9 of items is pending, not failed: nothing changed");
      return json({ table: "items", total: 1, limit: 50, next_cursor: null,
        items: [{ id: 9, error: "boom", attempts: 5, failed_at: "2026-01-01T10:00:00+00:00" }] });
    });
    render(<FailedItems />);
    await userEvent.click(await screen.findByRole("button", { name: "Requeue item 9" }));
    expect(await screen.findByText("Requeue of item 9 failed: item 9 of items is pending, not failed: nothing changed"))
      .toBeTruthy();
  });
});
