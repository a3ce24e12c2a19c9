import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi, json } from "../test/fakeApi";
import { ServicesPage } from "./ServicesPage";

describe("ServicesPage", () => {
  it("explains a 503 from the API when supervisord is unreachable", async () => {
    fakeApi(() => apiError(503, "unavailable", "supervisord unreachable: supervisord is not running (no socket at /x)"));
    render(<ServicesPage />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Supervisor is not answering.");
    expect(alert.textContent).toContain("no socket at /x");
    expect(within(alert).getByRole("button", { name: "Retry" })).toBeTruthy();
  });

  it("comes back by itself when supervisord answers again", async () => {
    let up = false;
    // Only the services list needs supervisord; the failed items and the audit log answer meanwhile.
    fakeApi((request) => (up || new URL(request.url).pathname !== "/api/v1/admin/services"
      ? json({ supervisord: "RUNNING", healthy: true, programs: [{
          name: "sleeper", group: "sleeper", state: "RUNNING", pid: 7, uptime_seconds: 5, description: "",
          healthy: true, problem: "", health_url: null, health: null }] })
      : apiError(503, "unavailable", "supervisord unreachable")));
    render(<ServicesPage />);
    expect((await screen.findByRole("alert")).textContent).toContain("Supervisor is not answering.");
    up = true;
    expect(await screen.findByRole("button", { name: "Restart sleeper" }, { timeout: 5000 })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  }, 10000);

  it("tells a non-admin this page is not for them", async () => {
    fakeApi(() => apiError(403, "forbidden", "admin only"));
    render(<ServicesPage />);
    expect((await screen.findByRole("alert")).textContent).toBe("Only administrators can see the services.");
  });

  it("restarts a program only after the dialog is confirmed, then shows the result and refreshes", async () => {
    let pid = 100;
    const program = () => ({
      name: "sleeper", group: "sleeper", state: "RUNNING", pid, uptime_seconds: 5, description: "",
      healthy: true, problem: "", health_url: null, health: null,
    });
    let release: () => void = () => undefined;
    const seen = fakeApi(async (request) => {
      if (request.method === "POST") {
        await new Promise<void>((resolve) => { release = resolve; });
        pid = 200;
        return json(program());
      }
      return json({ supervisord: "RUNNING", healthy: true, programs: [program()] });
    });
    render(<ServicesPage />);
    const restart = await screen.findByRole("button", { name: "Restart sleeper" });

    await userEvent.click(restart);
    const dialog = screen.getByRole("dialog", { name: "Restart sleeper?" });
    expect(dialog.textContent).toContain("Requests in flight may fail.");
    expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(document.activeElement).toBe(restart);
    expect(seen.filter((r) => r.startsWith("POST"))).toEqual([]);

    await userEvent.click(restart);
    const confirm = within(screen.getByRole("dialog")).getByRole("button", { name: "Restart" });
    await userEvent.tab(); // from Cancel, the last button, Tab wraps to the first one in the dialog
    expect(document.activeElement).toBe(confirm);
    await userEvent.click(confirm);
    expect((await screen.findByText("Restarting sleeper…")).getAttribute("role")).toBe("status");
    release();
    expect(await screen.findByText("sleeper restarted: RUNNING, pid 200, healthy.")).toBeTruthy();
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(seen).toContain("POST /api/v1/admin/services/sleeper/restart");
    await waitFor(() => expect(screen.getByRole("cell", { name: "200" })).toBeTruthy());
  });

  it("shows why a restart failed", async () => {
    fakeApi((request) => request.method === "POST"
      ? apiError(404, "not_found", "no program named 'sleeper'")
      : json({ supervisord: "RUNNING", healthy: true, programs: [{
        name: "sleeper", group: "sleeper", state: "RUNNING", pid: 1, uptime_seconds: 5, description: "",
        healthy: true, problem: "", health_url: null, health: null }] }));
    render(<ServicesPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Restart sleeper" }));
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Restart" }));
    expect(await screen.findByText("Restart of sleeper failed: no program named 'sleeper'")).toBeTruthy();
  });

  it("while the API is down: one alert, rows marked last known, actions disabled, a stopped program grey", async () => {
    let down = false;
    const programs = [
      { name: "sleeper", group: "sleeper", state: "RUNNING", pid: 7, uptime_seconds: 5, description: "",
        healthy: true, problem: "", health_url: null, health: null },
      { name: "worker_0", group: "worker", state: "STOPPED", pid: null, uptime_seconds: null,
        description: "Dec 07 03:12 AM", healthy: false, problem: "Dec 07 03:12 AM", health_url: null, health: null },
    ];
    fakeApi(async (request) => {
      if (down) throw new TypeError("Failed to fetch");
      if (new URL(request.url).pathname === "/api/v1/admin/queue") {
        return json({ counts: { pending: 0, processing: 0, done: 0, failed: 0 }, finished: 0, at: "2026-01-01T10:00:00+00:00" });
      }
      return json({ supervisord: "RUNNING", healthy: false, programs });
    });
    render(<ServicesPage />);
    const restart = await screen.findByRole("button", { name: "Restart sleeper" });
    const worker = screen.getByRole("row", { name: /worker:worker_0/ });
    expect(within(worker).getByText("Stopped").className).toContain("badge-pending");
    expect(within(worker).getByText("stopped on purpose since Dec 07 03:12 AM")).toBeTruthy();
    expect(within(worker).queryByText("Unhealthy")).toBeNull();
    expect(screen.getByText("supervisord RUNNING: all running programs healthy; 1 stopped")).toBeTruthy();
    expect(screen.getByTestId("services-updated").textContent).toMatch(/^List updated (just now|\d+ s ago)\.$/);
    // Each group button is named by its visible label first.
    expect(screen.getByRole("button", { name: "Stop all in group worker" }).textContent).toBe("Stop all in group worker");

    down = true;
    await waitFor(() => expect((restart as HTMLButtonElement).disabled).toBe(true), { timeout: 8000 });
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(screen.getByRole("alert").textContent).toContain("Cannot reach the API.");
    expect(screen.getByTestId("services-updated").textContent).toMatch(/^Not answering: the list is the last known state, updated/);
    const sleeper = screen.getByRole("row", { name: /sleeper/ });
    expect(sleeper.getAttribute("data-stale")).toBe("true");
    expect(within(sleeper).getByText("Unknown")).toBeTruthy();
    expect(within(sleeper).getByText("(last known)")).toBeTruthy();
    for (const button of screen.getAllByRole("button")) {
      if (/^(Start|Stop|Restart)/.test(button.textContent ?? "")) expect((button as HTMLButtonElement).disabled).toBe(true);
    }
  }, 15000);
});
