import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { LogViewer, matching } from "./LogViewer";

function ndjson(...values: unknown[]): Response {
  return new Response(values.map((v) => JSON.stringify(v)).join("\n") + "\n", {
    headers: { "Content-Type": "application/x-ndjson" },
  });
}

describe("LogViewer", () => {
  it("follows again from its last position when the stream ends, and says what it could not show", async () => {
    const seen = fakeApi((request) => {
      const query = new URL(request.url).searchParams;
      if (query.get("lines") === "200") {
        // The first stream: the last lines, the position mark, one new line; then the API restarts.
        return ndjson(
          { heartbeat: true, interval: 15 },
          { process: "talker", line: "talker ready" },
          { process: "talker", position: "7:13" },
          { process: "talker", line: "ping 1", position: "7:20" },
        );
      }
      // Resumed: a line already shown comes again (never shown twice), then what was missed.
      return ndjson(
        { heartbeat: true, interval: 15 },
        { process: "talker", skipped: 3 },
        { process: "talker", line: "ping 1", position: "7:20" },
        { process: "talker", line: "ping 5", position: "7:27" },
        { process: "talker", position: "7:27" },
      );
    });
    render(<LogViewer name="talker" onClose={() => undefined} />);
    expect(await screen.findByText("ping 1")).toBeTruthy();
    expect(await screen.findByText("ping 5", undefined, { timeout: 6000 })).toBeTruthy();
    const follows = seen.filter((r) => r.includes("/log/follow"));
    expect(follows[0]).toBe("GET /api/v1/admin/services/talker/log/follow?lines=200");
    expect(follows[1]).toBe("GET /api/v1/admin/services/talker/log/follow?lines=0&after=talker%407%3A20");
    const lines = screen.getByTestId("log-lines").textContent;
    expect(lines?.match(/ping 1/g)).toHaveLength(1);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe(
      "3 lines written while reconnecting could not be shown (too many)."));
    expect(lines).toContain("[3 lines written while reconnecting could not be shown (too many).]");
  }, 15000);
});

describe("LogViewer search and host", () => {
  it("filters the loaded lines as typed and says how many match; follows on the given host", async () => {
    const { default: userEvent } = await import("@testing-library/user-event");
    const seen = fakeApi(() => ndjson(
      { heartbeat: true, interval: 15 },
      { process: "echo", line: "GET /health 200" },
      { process: "echo", line: "POST /items 500 boom" },
      { process: "echo", line: "get /items 200" },
      { process: "echo", position: "7:60" },
    ));
    render(<LogViewer name="echo" host="10.0.0.2:9001" onClose={() => undefined} />);
    const lines = await screen.findByTestId("log-lines");
    await waitFor(() => expect(lines.querySelectorAll(".log-line")).toHaveLength(3));
    expect(seen[0]).toContain("host=10.0.0.2%3A9001");
    expect(screen.getByRole("heading", { name: "Log: echo on 10.0.0.2:9001" })).toBeTruthy();
    await userEvent.type(screen.getByLabelText("Search loaded lines"), "get ");
    expect([...lines.querySelectorAll(".log-line")].map((e) => e.textContent)).toEqual(["GET /health 200", "get /items 200"]);
    expect(screen.getByTestId("log-matches").textContent).toBe("2 of 3 lines match");
  });

  it("matching: case-insensitive, every line for an empty query", () => {
    const entries = [{ process: "a", line: "Hello" }, { process: "b", line: "world" }];
    expect(matching(entries, "")).toEqual(entries);
    expect(matching(entries, "HELLO")).toEqual([entries[0]]);
    expect(matching(entries, "b")).toEqual([entries[1]]);
  });
});
