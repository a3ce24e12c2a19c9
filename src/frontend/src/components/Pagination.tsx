import { pageNumbers, PAGE_SIZES } from "../lib/pagination";

interface Props {
  page: number;
  pages: number;
  total: number;
  limit: number;
  /** `total` is a lower bound (the API counts at most 1,000 items past the page): show "N+". */
  estimate?: boolean;
  /** What is counted, for the summary ("Items 1–50 of 120"). */
  noun?: string;
  onPage: (page: number) => void;
  onLimit: (limit: number) => void;
}

export function Pagination({ page, pages, total, limit, estimate = false, noun = "Items", onPage, onLimit }: Props) {
  const first = total === 0 ? 0 : (page - 1) * limit + 1;
  const last = Math.min(total, page * limit);
  return (
    <div className="pagination">
      <p className="pagination-summary" aria-live="polite">
        {total === 0 ? `No ${noun.toLowerCase()}` : `${noun} ${first}–${last} of ${total}${estimate ? "+" : ""}`}
      </p>
      <label className="page-size">
        Per page{" "}
        <select value={limit} onChange={(e) => onLimit(Number(e.target.value))}>
          {PAGE_SIZES.map((size) => <option key={size} value={size}>{size}</option>)}
        </select>
      </label>
      {pages > 1 && (
        <nav aria-label="Pagination">
          <ul>
            <li>
              <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>
                Previous<span className="visually-hidden"> page</span>
              </button>
            </li>
            {pageNumbers(page, pages).map((entry, i) =>
              entry === "gap" ? (
                <li key={`gap-${i}`} aria-hidden="true" className="gap">…</li>
              ) : (
                <li key={entry}>
                  <button type="button" onClick={() => onPage(entry)}
                          aria-current={entry === page ? "page" : undefined}
                          aria-label={`Page ${entry}`}>
                    {entry}
                  </button>
                </li>
              ),
            )}
            <li>
              <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages}>
                Next<span className="visually-hidden"> page</span>
              </button>
            </li>
          </ul>
        </nav>
      )}
    </div>
  );
}
