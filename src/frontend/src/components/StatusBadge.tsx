import type { ItemStatus } from "../api/types";

const LABELS: Record<ItemStatus, string> = {
  pending: "Pending",
  processing: "Processing",
  done: "Done",
  failed: "Failed",
};

export function StatusBadge({ status }: { status: ItemStatus }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {LABELS[status] ?? status}
    </span>
  );
}
