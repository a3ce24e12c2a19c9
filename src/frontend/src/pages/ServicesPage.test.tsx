import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi } from "../test/fakeApi";
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

  it("tells a non-admin this page is not for them", async () => {
    fakeApi(() => apiError(403, "forbidden", "admin only"));
    render(<ServicesPage />);
    expect((await screen.findByRole("alert")).textContent).toBe("Only administrators can see the services.");
  });
});
