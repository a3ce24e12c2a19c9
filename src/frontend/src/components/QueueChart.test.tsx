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
});
