// The items table: pages, page size, status filter, title search, create/edit/delete, and badges
// that refresh by themselves every 2 s while any shown item is still pending or processing.
import { useEffect, useState } from "react";
import { api, call } from "../api/client";
import { describeError } from "../api/errors";
import { ITEM_STATUSES, type Item, type ItemPage, type ItemStatus } from "../api/types";
import { ErrorState } from "../components/ErrorState";
import { Pagination } from "../components/Pagination";
import { StatusBadge } from "../components/StatusBadge";
import { formatDateTime } from "../lib/format";
import { searchFromView, viewFromSearch, type ItemsView } from "../lib/pagination";
import { navigate } from "../lib/router";
import { useResource } from "../lib/useResource";
import { ItemForm } from "./ItemForm";

export const POLL_INTERVAL_MS = 2000;

type Editor = { mode: "create" } | { mode: "edit"; item: Item } | null;

function isStatus(value: string): value is ItemStatus {
  return (ITEM_STATUSES as readonly string[]).includes(value);
}

export function stillProcessing(page: ItemPage): boolean {
  return page.items.some((item) => item.status === "pending" || item.status === "processing");
}

export function ItemsPage({ search }: { search: URLSearchParams }) {
  const view = viewFromSearch(search);
  const { page, limit, status, q } = view;
  const items = useResource(
    JSON.stringify(view),
    () => call(api.GET("/api/v1/items", {
      params: { query: { page, limit, status: isStatus(status) ? status : undefined, q: q || undefined } },
    })),
    (data) => (stillProcessing(data) ? POLL_INTERVAL_MS : null),
  );
  const [editor, setEditor] = useState<Editor>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [flash, setFlash] = useState("");
  const [actionError, setActionError] = useState<string | null>(null);
  const [searchText, setSearchText] = useState(q);

  const setView = (next: Partial<ItemsView>) => navigate(`/items${searchFromView({ ...view, ...next })}`);

  // Never a page that does not match the URL: while the next page loads the last one stays, dimmed
  // and busy; once that load failed, only the error (and the way to other pages) is left.
  const data = items.stale && items.error !== null ? null : items.data;
  const pager = items.data;
  // Deleting the last item of the last page leaves us past the end: move to the new last page.
  useEffect(() => {
    if (data && data.pages >= 1 && page > data.pages) {
      navigate(`/items${searchFromView({ page: data.pages, limit, status, q })}`, { replace: true });
    }
  }, [data, page, limit, status, q]);

  function saved(item: Item, created: boolean) {
    setEditor(null);
    setFlash(created ? `Item #${item.id} created.` : `Item #${item.id} saved.`);
    if (created && page !== 1) setView({ page: 1 });
    else items.reload();
  }

  async function remove(item: Item) {
    setActionError(null);
    try {
      await call(api.DELETE("/api/v1/items/{item_id}", { params: { path: { item_id: item.id } } }));
      setConfirming(null);
      setFlash(`Item #${item.id} deleted.`);
      items.reload();
    } catch (err) {
      setActionError(`Could not delete item #${item.id}: ${describeError(err)}`);
    }
  }

  const filtered = status !== "" || q !== "";

  return (
    <section aria-labelledby="items-heading">
      <div className="page-head">
        <h1 id="items-heading" tabIndex={-1}>Items</h1>
        <button type="button" className="primary" onClick={() => { setFlash(""); setEditor({ mode: "create" }); }}
                disabled={editor?.mode === "create"}>
          New item
        </button>
      </div>

      <p className="flash" role="status">{flash}</p>

      {editor && (
        <ItemForm key={editor.mode === "edit" ? editor.item.id : "new"}
                  item={editor.mode === "edit" ? editor.item : undefined}
                  onSaved={(item) => saved(item, editor.mode === "create")}
                  onCancel={() => setEditor(null)} />
      )}

      <div className="filters" role="search">
        <form onSubmit={(e) => { e.preventDefault(); setView({ q: searchText.trim(), page: 1 }); }}>
          <label htmlFor="item-search">Search titles</label>
          <input id="item-search" type="search" value={searchText}
                 onChange={(e) => setSearchText(e.target.value)} />
          <button type="submit">Search</button>
        </form>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setView({ status: e.target.value, page: 1 })}>
            <option value="">All</option>
            {ITEM_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </div>

      {actionError && <div className="notice notice-error" role="alert"><p>{actionError}</p></div>}
      {items.error !== null && <ErrorState error={items.error} onRetry={items.reload} />}

      {data === null ? (
        <>
          {items.loading && items.error === null && <p className="loading" role="status">Loading items…</p>}
          {pager !== null && pager.total > 0 && (
            <Pagination page={page} pages={pager.pages} total={pager.total} limit={limit}
                        estimate={pager.total_is_estimate}
                        onPage={(p) => setView({ page: p })} onLimit={(l) => setView({ limit: l, page: 1 })} />
          )}
        </>
      ) : data.total === 0 ? (
        <div className="empty">
          {filtered ? (
            <>
              <p>No items match these filters.</p>
              <button type="button" onClick={() => { setSearchText(""); setView({ q: "", status: "", page: 1 }); }}>
                Clear filters
              </button>
            </>
          ) : (
            <>
              <p>No items yet.</p>
              <button type="button" onClick={() => setEditor({ mode: "create" })}>Create your first item</button>
            </>
          )}
        </div>
      ) : (
        <>
          <div className="table-wrap">
            <table className="items-table" aria-busy={items.loading || items.stale} data-testid="items-table">
              <caption className="visually-hidden">Items, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">Title</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Updated</th>
                  <th scope="col"><span className="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <tr key={item.id} data-item-id={item.id}>
                    <td data-label="ID">{item.id}</td>
                    <td data-label="Title" className="title-cell">
                      <span className="item-title">{item.title}</span>
                      {item.error && <span className="item-error">{item.error}</span>}
                    </td>
                    <td data-label="Status"><StatusBadge status={item.status} /></td>
                    <td data-label="Attempts">{item.attempts}</td>
                    <td data-label="Updated">{formatDateTime(item.updated_at)}</td>
                    <td className="row-actions">
                      {confirming === item.id ? (
                        <span className="confirm" role="group" aria-label={`Confirm deleting item ${item.id}`}>
                          <span>Delete this item?</span>
                          {/* Focus moves to the question asked, so keyboard users answer it next. */}
                          <button type="button" className="danger" autoFocus onClick={() => void remove(item)}>
                            Yes, delete
                          </button>
                          <button type="button" onClick={() => setConfirming(null)}>Cancel</button>
                        </span>
                      ) : (
                        <>
                          <button type="button" aria-label={`Edit item ${item.id}`}
                                  onClick={() => { setFlash(""); setEditor({ mode: "edit", item }); }}>Edit</button>
                          <button type="button" aria-label={`Delete item ${item.id}`}
                                  onClick={() => { setActionError(null); setConfirming(item.id); }}>Delete</button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pagination page={page} pages={data.pages} total={data.total} limit={limit}
                      estimate={data.total_is_estimate}
                      onPage={(p) => setView({ page: p })} onLimit={(l) => setView({ limit: l, page: 1 })} />
        </>
      )}
    </section>
  );
}
