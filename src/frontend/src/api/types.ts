// Domain types, all derived from the generated OpenAPI types (schema.d.ts) so they follow the API.
import type { paths } from "./schema";

type JsonBody<R> = R extends { content: { "application/json": infer B } } ? B : never;

export type Item = JsonBody<paths["/api/v1/items/{item_id}"]["get"]["responses"][200]>;
export type ItemPage = JsonBody<paths["/api/v1/items"]["get"]["responses"][200]>;
export type ItemStatus = Item["status"];
export type ItemQuery = NonNullable<paths["/api/v1/items"]["get"]["parameters"]["query"]>;
export type ApiKeyPage = JsonBody<paths["/api/v1/api-keys"]["get"]["responses"][200]>;
export type ApiKey = ApiKeyPage["items"][number];
export type CreatedApiKey = JsonBody<paths["/api/v1/api-keys"]["post"]["responses"][201]>;
export type Me = JsonBody<paths["/api/v1/auth/me"]["get"]["responses"][200]>;

export const ITEM_STATUSES: readonly ItemStatus[] = ["pending", "processing", "done", "failed"];

/** GET /api/v1/admin/services (src/api/routes/admin.py): supervisord's programs and their health. */
export type ServicesOut = JsonBody<paths["/api/v1/admin/services"]["get"]["responses"][200]>;
export type ServiceProgram = ServicesOut["programs"][number];

/** GET /api/v1/admin/queue (src/api/routes/admin_queue.py): items by status, for the chart. */
export type QueueSnapshot = JsonBody<paths["/api/v1/admin/queue"]["get"]["responses"][200]>;
/** One line of a program's log (GET /api/v1/admin/services/{name}/log and .../log/follow). */
export type LogLine = JsonBody<paths["/api/v1/admin/services/{name}/log"]["get"]["responses"][200]>["lines"][number];
/** GET /api/v1/admin/queue/{table}/failed (src/api/routes/admin_failed.py): a queue table's failed items. */
export type FailedPage = JsonBody<paths["/api/v1/admin/queue/{table}/failed"]["get"]["responses"][200]>;
export type FailedItem = FailedPage["items"][number];
/** POST .../failed/{item_id}/requeue and .../failed/requeue: how many were requeued, how many are left. */
export type Requeued = JsonBody<paths["/api/v1/admin/queue/{table}/failed/requeue"]["post"]["responses"][200]>;
/** GET /api/v1/admin/audit (src/api/routes/admin_audit.py): who did which admin action, when, how it went. */
export type AuditPage = JsonBody<paths["/api/v1/admin/audit"]["get"]["responses"][200]>;
export type AuditEntry = AuditPage["items"][number];
/** GET /api/v1/admin/hosts (src/api/routes/admin_hosts.py): every SUPERVISOR_SERVERS host, or why not. */
export type HostsOut = JsonBody<paths["/api/v1/admin/hosts"]["get"]["responses"][200]>;
export type HostOut = HostsOut["hosts"][number];
/** GET /api/v1/admin/queue/history (src/api/routes/admin_history.py): a queue's counts over time. */
export type QueueHistory = JsonBody<paths["/api/v1/admin/queue/history"]["get"]["responses"][200]>;
export type HistoryPoint = QueueHistory["points"][number];
