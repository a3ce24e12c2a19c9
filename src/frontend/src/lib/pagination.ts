// Which page numbers to show: always the first and last, a window around the current page, and
// gaps ("…") elsewhere, so 200 pages still fit a phone's width.

export type PageEntry = number | "gap";

export function pageNumbers(current: number, total: number, around = 1): PageEntry[] {
  if (total <= 0) return [];
  const page = Math.min(Math.max(1, current), total);
  // Few pages: show them all (a gap would save no room).
  if (total <= 2 * around + 5) return Array.from({ length: total }, (_, i) => i + 1);
  const wanted = new Set<number>([1, total]);
  for (let p = page - around; p <= page + around; p++) if (p >= 1 && p <= total) wanted.add(p);
  // Showing a gap that stands for a single page is silly: show the page instead.
  const sorted = [...wanted].sort((a, b) => a - b);
  const out: PageEntry[] = [];
  sorted.forEach((p, i) => {
    const prev = sorted[i - 1];
    if (prev !== undefined && p - prev === 2) out.push(prev + 1);
    else if (prev !== undefined && p - prev > 2) out.push("gap");
    out.push(p);
  });
  return out;
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

export interface ItemsView {
  page: number;
  limit: number;
  status: string;
  q: string;
}

function positiveInt(value: string | null, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The items page's state lives in the URL, so reload and back/forward keep it. */
export function viewFromSearch(search: URLSearchParams): ItemsView {
  const limit = positiveInt(search.get("limit"), DEFAULT_PAGE_SIZE);
  return {
    page: positiveInt(search.get("page"), 1),
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    status: search.get("status") ?? "",
    q: search.get("q") ?? "",
  };
}

export function searchFromView(view: ItemsView): string {
  const params = new URLSearchParams();
  if (view.page !== 1) params.set("page", String(view.page));
  if (view.limit !== DEFAULT_PAGE_SIZE) params.set("limit", String(view.limit));
  if (view.status) params.set("status", view.status);
  if (view.q) params.set("q", view.q);
  const text = params.toString();
  return text ? `?${text}` : "";
}
