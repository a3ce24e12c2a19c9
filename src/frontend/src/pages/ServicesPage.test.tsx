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
    fakeApi(() => (up
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
});
