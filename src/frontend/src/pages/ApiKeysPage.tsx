// API keys: list (by pages, newest first, as the API gives them), create (the secret shown once, with
// a copy button) and revoke. Past API_KEYS_MAX_ACTIVE active keys, creating says to revoke one first.
import { useEffect, useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, describeError, fieldErrors } from "../api/errors";
import type { ApiKey, CreatedApiKey } from "../api/types";
import { ErrorState } from "../components/ErrorState";
import { Pagination } from "../components/Pagination";
import { formatDateTime } from "../lib/format";
import { useResource } from "../lib/useResource";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false; // no clipboard permission: the key stays selected for a manual copy
  }
}

function NewKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    inputRef.current?.focus();
    inputRef.current?.select();
  }, []);
  return (
    <div className="card new-key" role="region" aria-labelledby="new-key-heading">
      <h2 id="new-key-heading">Key “{created.name}” created</h2>
      <p>Copy it now: it is shown only once and cannot be recovered.</p>
      <div className="copy-row">
        <label htmlFor="new-key-value" className="visually-hidden">New API key</label>
        <input id="new-key-value" ref={inputRef} readOnly value={created.key} className="mono"
               onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copyText(created.key).then((ok) => setCopied(ok ? "yes" : "no"))}>
          Copy
        </button>
      </div>
      <p role="status" className="copy-status">
        {copied === "yes" ? "Copied to the clipboard." : copied === "no" ? "Copy failed: select the key and copy it by hand." : ""}
      </p>
      <button type="button" onClick={onDone}>Done</button>
    </div>
  );
}

/** Newest first (the API lists them so; kept for any older answer). */
export function newestFirst(keys: readonly ApiKey[]): ApiKey[] {
  return [...keys].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
}

export function ApiKeysPage() {
  const [page, setPage] = useState(1);
  const [limit, setLimit] = useState(50);
  const keys = useResource(`api-keys?page=${page}&limit=${limit}`,
    () => call(api.GET("/api/v1/api-keys", { params: { query: { page, limit } } })));
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [flash, setFlash] = useState("");
  const [showRevoked, setShowRevoked] = useState(false);
  // Newest first, like the items; revoked keys only on request (they can never be used again).
  const pager = keys.data;
  const all = pager === null ? null : newestFirst(pager.items);
  // (Revoking keeps a key in the list, so a page never empties under the reader.)
  const revokedCount = all === null ? 0 : all.filter((key) => key.revoked_at).length;
  const shown = all === null ? null : showRevoked ? all : all.filter((key) => !key.revoked_at);

  async function create(event: React.FormEvent) {
    event.preventDefault();
    setNameError(null);
    setFormError(null);
    if (name.trim() === "") {
      setNameError("Give the key a name, e.g. “CI pipeline”.");
      document.getElementById("key-name")?.focus();
      return;
    }
    setBusy(true);
    try {
      const key = await call(api.POST("/api/v1/api-keys", { body: { name: name.trim() } }));
      setCreated(key);
      setName("");
      setFlash("");
      if (page !== 1) setPage(1); else keys.reload();
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        setNameError(fieldErrors(err.details).name ?? err.message);
      } else if (err instanceof ApiError && err.status === 409) {
        setFormError(err.message); // at the cap of active keys: the API says to revoke one first
      } else {
        setFormError(describeError(err));
      }
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKey) {
    setFormError(null);
    try {
      await call(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: key.id } } }));
      setConfirming(null);
      setFlash(`Key “${key.name}” revoked.`);
      keys.reload();
    } catch (err) {
      setFormError(`Could not revoke “${key.name}”: ${describeError(err)}`);
    }
  }

  return (
    <section aria-labelledby="keys-heading">
      <h1 id="keys-heading" tabIndex={-1}>API keys</h1>
      <p className="hint">Scripts and the SDK authenticate with an API key: <code>X-API-Key: sk_…</code></p>

      {created ? (
        <NewKey created={created} onDone={() => setCreated(null)} />
      ) : (
        <form className="card inline-form" onSubmit={create} noValidate>
          <div className="field">
            <label htmlFor="key-name">Key name</label>
            <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off"
                   aria-invalid={nameError ? true : undefined}
                   aria-describedby={nameError ? "key-name-error" : undefined} />
            {nameError && <p className="field-error" id="key-name-error">{nameError}</p>}
          </div>
          <button type="submit" className="primary" disabled={busy}>{busy ? "Creating…" : "Create key"}</button>
        </form>
      )}

      <p className="flash" role="status">{flash}</p>
      {formError && <div className="notice notice-error" role="alert"><p>{formError}</p></div>}
      {keys.error !== null && <ErrorState error={keys.error} onRetry={keys.reload} />}

      {revokedCount > 0 && (
        <label className="toggle">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />{" "}
          Show revoked keys ({revokedCount}{pager !== null && pager.pages > 1 ? " on this page" : ""})
        </label>
      )}

      {shown === null ? (
        keys.loading && <p className="loading" role="status">Loading keys…</p>
      ) : shown.length === 0 ? (
        <p className="empty">{revokedCount > 0 ? "No active API keys." : "No API keys yet."}</p>
      ) : (
        <div className="table-wrap">
          <table className="keys-table">
            <caption className="visually-hidden">Your API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {shown.map((key) => (
                <tr key={key.id} data-key-id={key.id}>
                  <td data-label="Name" className="title-cell">{key.name}</td>
                  <td data-label="Prefix" className="mono">{key.prefix}</td>
                  <td data-label="Created">{formatDateTime(key.created_at)}</td>
                  <td data-label="Last used">{formatDateTime(key.last_used_at)}</td>
                  <td data-label="State">
                    {key.revoked_at
                      ? <span className="badge badge-failed">Revoked</span>
                      : <span className="badge badge-done">Active</span>}
                  </td>
                  <td className="row-actions">
                    {key.revoked_at ? null : confirming === key.id ? (
                      <span className="confirm" role="group" aria-label={`Confirm revoking ${key.name}`}>
                        <span>Revoke? Clients using it stop working at once.</span>
                        <button type="button" className="danger" autoFocus onClick={() => void revoke(key)}>
                          Yes, revoke
                        </button>
                        <button type="button" onClick={() => setConfirming(null)}>Cancel</button>
                      </span>
                    ) : (
                      <button type="button" aria-label={`Revoke ${key.name}`} onClick={() => setConfirming(key.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pager !== null && pager.total > 0 && (
        <Pagination page={page} pages={pager.pages} total={pager.total} limit={limit} noun="Keys"
                    onPage={setPage} onLimit={(l) => { setLimit(l); setPage(1); }} />
      )}
    </section>
  );
}
