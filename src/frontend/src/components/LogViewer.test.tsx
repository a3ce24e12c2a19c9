import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { LogViewer } from "./LogViewer";

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
