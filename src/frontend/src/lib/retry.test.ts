import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, unreachableError } from "../api/errors";
import { backoff, retryDelay, RETRY_MAX_MS, whenVisibleAfter } from "./retry";

function setVisibility(state: DocumentVisibilityState) {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

describe("retry", () => {
  afterEach(() => {
    vi.useRealTimers();
    setVisibility("visible");
  });

  it("backs off from 1 s to at most 10 s", () => {
    expect([0, 1, 2, 3, 4, 20].map(backoff)).toEqual([1000, 2000, 4000, 8000, RETRY_MAX_MS, RETRY_MAX_MS]);
  });

  it("tries again what may pass, not what the request got wrong", () => {
    expect(retryDelay(unreachableError(), 0)).toBe(1000);
    expect(retryDelay(new ApiError(503, "unavailable", "down"), 2)).toBe(4000);
    expect(retryDelay(new ApiError(429, "rate_limited", "slow", [], 7), 0)).toBe(7000);
    expect(retryDelay(new ApiError(404, "not_found", "gone"), 0)).toBeNull();
    expect(retryDelay(new TypeError("a bug"), 0)).toBeNull();
  });

  it("waits for a hidden page to be shown again", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    setVisibility("hidden");
    whenVisibleAfter(1000, fn);
    vi.advanceTimersByTime(5000);
    expect(fn).not.toHaveBeenCalled();
    setVisibility("visible");
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("can be cancelled", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    whenVisibleAfter(1000, fn)();
    vi.advanceTimersByTime(5000);
    expect(fn).not.toHaveBeenCalled();
  });
});
