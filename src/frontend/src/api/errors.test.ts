import { describe, expect, it } from "vitest";
import { ApiError, describeError, fieldErrors, otherErrors, parseRetryAfter, toApiError } from "./errors";

describe("parseRetryAfter", () => {
  it("reads delta seconds", () => {
    expect(parseRetryAfter("17")).toBe(17);
  });
  it("reads an HTTP date relative to now", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30);
  });
  it("gives null for nothing or nonsense", () => {
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("toApiError", () => {
  it("uses the contract's envelope", () => {
    const err = toApiError(422, { error: { code: "validation_error", message: "request validation failed",
      details: [{ loc: ["body", "title"], msg: "String should have at least 1 character", type: "string_too_short" }] } });
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_error");
    expect(err.details[0].msg).toBe("String should have at least 1 character");
    expect(err.unreachable).toBe(false);
  });

  it("reads Retry-After on a 429", () => {
    const err = toApiError(429, { error: { code: "rate_limited", message: "slow down", details: [] } },
      new Headers({ "Retry-After": "12" }));
    expect(err.retryAfter).toBe(12);
    expect(describeError(err)).toBe("Too many requests. Try again in 12 s.");
  });

  it("treats a 5xx without the envelope (the dev proxy, nothing behind it) as the API being down", () => {
    expect(toApiError(500, "").unreachable).toBe(true);
    expect(toApiError(502, null).unreachable).toBe(true);
  });

  it("keeps a real 500 from the API as an error, not as 'down'", () => {
    const err = toApiError(500, { error: { code: "internal_error", message: "internal server error", details: [] } });
    expect(err.unreachable).toBe(false);
    expect(err.message).toBe("internal server error");
  });
});

describe("fieldErrors", () => {
  const details = [
    { loc: ["body", "title"], msg: "too short" },
    { loc: ["body", "title"], msg: "second message for title" },
    { loc: ["body", "metadata"], msg: "must be at most 16384 bytes of JSON" },
    { loc: ["body"], msg: "Extra inputs are not permitted" },
    { loc: ["body", "colour"], msg: "Extra inputs are not permitted" },
  ];

  it("maps the first message of each field", () => {
    expect(fieldErrors(details)).toEqual({
      title: "too short",
      metadata: "must be at most 16384 bytes of JSON",
      colour: "Extra inputs are not permitted",
    });
  });

  it("keeps messages for fields the form does not have", () => {
    expect(otherErrors(details, ["title", "metadata"])).toEqual([
      "Extra inputs are not permitted",
      "colour: Extra inputs are not permitted",
    ]);
  });
});

describe("describeError", () => {
  it("says so when no Retry-After came", () => {
    expect(describeError(new ApiError(429, "rate_limited", "x"))).toBe("Too many requests. Try again in a moment.");
  });
});
