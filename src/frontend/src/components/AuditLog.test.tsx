import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi, json } from "../test/fakeApi";
import { AuditLog } from "./AuditLog";

const entry = (id: number, overrides: Record<string, unknown>) => ({
  id, at: "2026-01-01T10:00:00+00:00", user_id: 1, actor: "admin@example.com", via: "api", action: "service.restart",
  target: "worker:worker_0", host: null, outcome: "ok", error: null, detail: null, ...overrides,
});

describe("AuditLog", () => {
  it("shows who did what, where, and how it went, newest first", async () => {
    const seen = fakeApi(() => json({ limit: 20, next_cursor: null, items: [
      entry(3, { action: "queue.requeue_all", target: "items", detail: "requeued 2, 0 still failed" }),
      entry(2, { outcome: "failed", error: "FATAL, not healthy: exited too quickly", host: "db1" }),
      entry(1, { actor: "os:root@vm", user_id: null, via: "ctl", action: "queue.requeue", target: "item 7 of items" }),
    ] }));
    render(<AuditLog />);
    const rows = await within(screen.getByRole("region", { name: "Audit log" })).findAllByRole("row");
    expect(rows.map((r) => r.getAttribute("data-action"))).toEqual([null, "queue.requeue_all", "service.restart", "queue.requeue"]);
    expect(rows[1].textContent).toContain("items (requeued 2, 0 still failed)");
    expect(within(rows[2]).getByText("failed").className).toContain("badge-failed");
    expect(rows[2].textContent).toContain("worker:worker_0 on db1");
    expect(rows[2].textContent).toContain("FATAL, not healthy: exited too quickly");
    expect(rows[3].textContent).toContain("os:root@vm (ctl)");
    expect(seen).toEqual(["GET /api/v1/admin/audit?limit=20"]);
  });
});
