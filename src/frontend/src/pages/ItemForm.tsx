// Create or edit an item. The API validates; its 422 details are shown on the fields they name.
import { useEffect, useId, useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, describeError, fieldErrors, otherErrors } from "../api/errors";
import type { Item } from "../api/types";

const FIELDS = ["title", "description", "metadata", "status"] as const;

function newIdempotencyKey(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

interface Props {
  item?: Item;
  onSaved: (item: Item) => void;
  onCancel: () => void;
}

export function ItemForm({ item, onSaved, onCancel }: Props) {
  const editing = item !== undefined;
  const id = useId();
  const [title, setTitle] = useState(item?.title ?? "");
  const [description, setDescription] = useState(item?.description ?? "");
  const [metadata, setMetadata] = useState(
    item && Object.keys(item.metadata ?? {}).length > 0 ? JSON.stringify(item.metadata, null, 2) : "");
  const [reprocess, setReprocess] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [saving, setSaving] = useState(false);
  // One key per opened form: a double submit or a retry after a lost answer creates one item.
  const [idempotencyKey] = useState(newIdempotencyKey);
  const titleRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    titleRef.current?.focus();
  }, []);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    let meta: Record<string, unknown> | undefined;
    if (metadata.trim() !== "") {
      try {
        const parsed: unknown = JSON.parse(metadata);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
        meta = parsed as Record<string, unknown>;
      } catch {
        setErrors({ metadata: 'Metadata must be a JSON object, for example {"priority": 1}.' });
        setFormError([]);
        return;
      }
    }
    setSaving(true);
    setErrors({});
    setFormError([]);
    try {
      let saved: Item;
      if (editing) {
        const body: { title?: string; description?: string; metadata?: Record<string, unknown>; status?: "pending" } = {};
        if (title !== item.title) body.title = title;
        if (description !== item.description) body.description = description;
        if (JSON.stringify(meta ?? {}) !== JSON.stringify(item.metadata ?? {})) body.metadata = meta ?? {};
        if (reprocess) body.status = "pending";
        saved = await call(api.PATCH("/api/v1/items/{item_id}", { params: { path: { item_id: item.id } }, body }));
      } else {
        saved = await call(api.POST("/api/v1/items", {
          headers: { "Idempotency-Key": idempotencyKey },
          body: { title, description, metadata: meta ?? {} },
        }));
      }
      onSaved(saved);
    } catch (err) {
      setSaving(false);
      if (err instanceof ApiError && err.status === 422) {
        const byField = fieldErrors(err.details);
        setErrors(byField);
        setFormError(otherErrors(err.details, FIELDS));
        const firstBad = FIELDS.find((f) => f in byField);
        if (firstBad) document.getElementById(`${id}-${firstBad}`)?.focus();
      } else {
        setFormError([describeError(err)]);
      }
    }
  }

  const describedBy = (field: string) => (errors[field] ? `${id}-${field}-error` : undefined);
  const fieldError = (field: string) =>
    errors[field] ? <p className="field-error" id={`${id}-${field}-error`}>{errors[field]}</p> : null;

  return (
    <form className="card item-form" onSubmit={submit} noValidate aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>{editing ? `Edit item #${item.id}` : "New item"}</h2>
      {formError.length > 0 && (
        <div className="notice notice-error" role="alert">
          {formError.map((m) => <p key={m}>{m}</p>)}
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-title`}>Title</label>
        <input id={`${id}-title`} ref={titleRef} value={title} onChange={(e) => setTitle(e.target.value)}
               aria-required="true" aria-invalid={errors.title ? true : undefined}
               aria-describedby={describedBy("title")} autoComplete="off" />
        {fieldError("title")}
      </div>
      <div className="field">
        <label htmlFor={`${id}-description`}>Description</label>
        <textarea id={`${id}-description`} value={description} rows={3}
                  onChange={(e) => setDescription(e.target.value)}
                  aria-invalid={errors.description ? true : undefined}
                  aria-describedby={describedBy("description")} />
        {fieldError("description")}
      </div>
      <div className="field">
        <label htmlFor={`${id}-metadata`}>Metadata (JSON, optional)</label>
        <textarea id={`${id}-metadata`} value={metadata} rows={3} spellCheck={false} className="mono"
                  onChange={(e) => setMetadata(e.target.value)} placeholder='{"priority": 1}'
                  aria-invalid={errors.metadata ? true : undefined}
                  aria-describedby={describedBy("metadata")} />
        {fieldError("metadata")}
      </div>
      {editing && (
        <div className="field field-check">
          <input type="checkbox" id={`${id}-status`} checked={reprocess}
                 onChange={(e) => setReprocess(e.target.checked)}
                 aria-describedby={describedBy("status")} />
          <label htmlFor={`${id}-status`}>Process again (set status back to pending)</label>
          {fieldError("status")}
        </div>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : editing ? "Save changes" : "Create item"}
        </button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
