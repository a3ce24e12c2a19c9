import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi, json } from "../test/fakeApi";
import { QueueChart } from "./QueueChart";

const counts = (pending: number, processing: number, done: number, failed: number) => ({ pending, processing, done, failed });

describe("QueueChart", () => {
  it("lists every queue table by status, items first", async () => {
    fakeApi(() => json({
      counts: counts(2, 1, 3, 0), total: 6, finished: 3, at: "2026-01-01T10:00:00+00:00",
      queues: [
        { table: "items", counts: counts(2, 1, 3, 0), total: 6, finished: 3 },
        { table: "links", counts: counts(5, 0, 1, 4), total: 10, finished: 5 },
      ],
    }));
    render(<QueueChart />);
    const tables = await screen.findByTestId("queue-tables");
    const rows = within(tables).getAllByRole("row").slice(1);
    expect(rows.map((row) => row.getAttribute("data-queue"))).toEqual(["items", "links"]);
    const links = within(tables).getByRole("row", { name: /links/ });
    expect(within(links).getAllByRole("cell").map((cell) => cell.textContent)).toEqual(["5", "0", "1", "4", "10"]);
  });

  it("shows no table before an API that lists no queues", async () => {
    fakeApi(() => json({ counts: counts(0, 0, 0, 0), total: 0, finished: 0, at: "2026-01-01T10:00:00+00:00" }));
    render(<QueueChart />);
    await screen.findByText("—", { selector: "[data-status=rate]" });
    expect(screen.queryByTestId("queue-tables")).toBeNull();
  });

  it("draws the server's history of the chosen span, with rates per minute", async () => {
    const seen = fakeApi((request) => {
      if (new URL(request.url).pathname.endsWith("/history")) {
        return json({
          queue: "items", since: 1_000, until: 4_600, bucket_seconds: 10, interval_seconds: 30, queues: ["items", "links"],
          points: [
            { at: 4_000, pending: 7, processing: 2, done: 10, failed: 0, done_per_minute: null, failed_per_minute: null },
            { at: 4_060, pending: 4, processing: 2, done: 13, failed: 0, done_per_minute: 3, failed_per_minute: 0 },
          ],
        });
      }
      return json({ counts: counts(4, 2, 13, 0), total: 19, finished: 13, at: "2026-01-01T10:00:00+00:00" });
    });
    render(<QueueChart />);
    const summary = await screen.findByText(/2 points/);
    expect(summary.textContent).toBe("2 points, one per 10 s; last: 4 pending, 2 in flight, 3 done/min.");
    expect(seen).toContain("GET /api/v1/admin/queue/history?hours=1&queue=items");
    expect(screen.getByRole("option", { name: "links" })).toBeTruthy();
  });
});
