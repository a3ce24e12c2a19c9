// One error type for every failed API call, built from the contract's error envelope:
// {"error": {"code", "message", "details"}}. Pure functions: unit-tested in errors.test.ts.

export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ValidationDetail[];
  /** Seconds until a retry may succeed (429 Retry-After), else null. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: ValidationDetail[] = [],
              retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** The API could not be reached (network error, or the dev proxy answering for a dead API). */
  get unreachable(): boolean {
    return this.code === "unreachable";
  }
}

const UNREACHABLE_MESSAGE = "The API is not answering. It may be down or restarting.";

export function unreachableError(): ApiError {
  return new ApiError(0, "unreachable", UNREACHABLE_MESSAGE);
}

/** Retry-After is either delta-seconds or an HTTP date; null when absent or unparseable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - now) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asDetails(value: unknown): ValidationDetail[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((d) => ({
    loc: Array.isArray(d.loc) ? (d.loc as (string | number)[]) : [],
    msg: typeof d.msg === "string" ? d.msg : String(d.msg ?? ""),
    type: typeof d.type === "string" ? d.type : undefined,
  }));
}

/** Turn a non-2xx response and its parsed body into an ApiError. */
export function toApiError(status: number, body: unknown, headers?: Headers): ApiError {
  const retryAfter = parseRetryAfter(headers?.get("Retry-After") ?? null);
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    return new ApiError(status, typeof e.code === "string" ? e.code : "error",
      typeof e.message === "string" ? e.message : `Request failed (${status})`,
      asDetails(e.details), retryAfter);
  }
  // Without our envelope a 5xx came from something in front of the API (Vite's proxy answers
  // 500/502 with an empty body when nothing listens behind it): treat it as "API down".
  if (status >= 500) return new ApiError(status, "unreachable", UNREACHABLE_MESSAGE, [], retryAfter);
  if (isRecord(body) && Array.isArray(body.detail)) {
    return new ApiError(status, "validation_error", "Some fields are not valid.", asDetails(body.detail));
  }
  return new ApiError(status, "error", `Request failed (${status})`, [], retryAfter);
}

function fieldOf(d: ValidationDetail): string {
  const path = d.loc.filter((part) => part !== "body" && part !== "query" && part !== "path");
  return path.length > 0 ? String(path[0]) : "";
}

/** Field name -> first message, from 422 details such as {"loc": ["body", "title"], ...}. */
export function fieldErrors(details: ValidationDetail[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of details) {
    const field = fieldOf(d);
    if (field && !(field in out)) out[field] = d.msg;
  }
  return out;
}

/** Messages of details that belong to none of the form's own fields (shown above the form). */
export function otherErrors(details: ValidationDetail[], known: readonly string[]): string[] {
  return details
    .filter((d) => !known.includes(fieldOf(d)))
    .map((d) => (fieldOf(d) ? `${fieldOf(d)}: ${d.msg}` : d.msg));
}

/** A sentence for the user, for any error a call may throw. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429) {
      return err.retryAfter !== null
        ? `Too many requests. Try again in ${err.retryAfter} s.`
        : "Too many requests. Try again in a moment.";
    }
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
