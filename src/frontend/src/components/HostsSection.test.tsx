import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { fakeApi, json } from "../test/fakeApi";
import { HostsSection } from "./HostsSection";

const program = (name: string, state: string, pid: number | null) => ({
  name, group: name, state, pid, uptime_seconds: pid ? 60 : null, description: "", healthy: state === "RUNNING",
  problem: state === "RUNNING" ? "" : "not running", health_url: null, health: null, worker: null,
});

const HOSTS = {
  timeout_seconds: 3,
  repeated: ["10.0.0.2:9001"],
  hosts: [
    { label: "/srv/var/run/supervisor.sock", local: true, reachable: true, error: null, supervisord: "RUNNING",
      healthy: true, programs: [program("api", "RUNNING", 10)] },
    { label: "10.0.0.2:9001", local: false, reachable: true, error: null, supervisord: "RUNNING", healthy: false,
      programs: [program("echo", "RUNNING", 42), program("cron", "STOPPED", null)] },
    { label: "10.0.0.3:9001", local: false, reachable: false, error: "supervisord did not answer within 3s",
      supervisord: null, healthy: false, programs: [] },
  ],
};

describe("HostsSection", () => {
  it("groups the other hosts' programs by host, says which are unreachable or repeated, acts on the host", async () => {
    fakeApi(() => json(HOSTS));
    const actions = { ask: vi.fn(), askRestart: vi.fn(), showLog: vi.fn(), logOf: null, disabled: false };
    render(<HostsSection actions={actions} refresh={0} />);
    const second = await screen.findByRole("region", { name: "Host 10.0.0.2:9001" });
    expect(screen.queryByRole("region", { name: /supervisor\.sock/ })).toBeNull(); // the table above shows it
    expect(within(second).getAllByRole("row")).toHaveLength(3);
    const third = screen.getByRole("region", { name: "Host 10.0.0.3:9001" });
    expect(within(third).getByTestId("host-state").textContent).toBe("Unreachable: supervisord did not answer within 3s");
    expect(screen.getByTestId("hosts-repeated").textContent).toContain("10.0.0.2:9001");

    await userEvent.click(screen.getByRole("button", { name: "Restart echo on 10.0.0.2:9001" }));
    expect(actions.askRestart).toHaveBeenCalledWith("echo", "10.0.0.2:9001");
    await userEvent.click(screen.getByRole("button", { name: "Start cron on 10.0.0.2:9001" }));
    expect(actions.ask).toHaveBeenCalledWith("start", "cron", "10.0.0.2:9001");
    await userEvent.click(screen.getByRole("button", { name: "Log of echo on 10.0.0.2:9001" }));
    expect(actions.showLog).toHaveBeenCalledWith("echo", "10.0.0.2:9001");
  });

  it("shows nothing when SUPERVISOR_SERVERS is not set", async () => {
    const seen = fakeApi(() => json({ timeout_seconds: 3, repeated: [], hosts: [] }));
    const actions = { ask: vi.fn(), askRestart: vi.fn(), showLog: vi.fn(), logOf: null, disabled: false };
    const { container } = render(<HostsSection actions={actions} refresh={0} />);
    await vi.waitFor(() => expect(seen).toContain("GET /api/v1/admin/hosts"));
    expect(container.textContent).toBe("");
  });
});
