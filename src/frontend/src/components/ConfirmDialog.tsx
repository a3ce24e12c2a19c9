// A modal confirmation: focus moves to Cancel (the safe choice) when it opens and stays inside
// (Tab wraps), Escape cancels, and while `busy` the buttons are disabled and progress is announced.
// The caller returns focus to the control that opened it.
import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from "react";

interface Props {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  busyText?: string;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog({ title, children, confirmLabel, busy = false, busyText, onConfirm, onCancel }: Props) {
  const titleId = useId();
  const bodyId = useId();
  const dialogRef = useRef<HTMLDivElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    cancelRef.current?.focus();
  }, []);
  useEffect(() => {
    // The buttons are disabled while busy: keep focus in the dialog, not on the page behind it.
    if (busy) dialogRef.current?.focus();
  }, [busy]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>): void {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!busy) onCancel();
      return;
    }
    if (event.key !== "Tab" || dialogRef.current === null) return;
    const focusable = Array.from(dialogRef.current.querySelectorAll<HTMLElement>("button:not([disabled])"));
    if (focusable.length === 0) {
      event.preventDefault();
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  return (
    <div className="dialog-backdrop">
      <div ref={dialogRef} className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId}
           aria-describedby={bodyId} aria-busy={busy} tabIndex={-1} onKeyDown={onKeyDown}>
        <h2 id={titleId}>{title}</h2>
        <div id={bodyId}>{children}</div>
        {busy && busyText && <p className="loading" role="status">{busyText}</p>}
        <div className="dialog-actions">
          <button type="button" className="danger" onClick={onConfirm} disabled={busy}>{confirmLabel}</button>
          <button type="button" ref={cancelRef} onClick={onCancel} disabled={busy}>Cancel</button>
        </div>
      </div>
    </div>
  );
}
