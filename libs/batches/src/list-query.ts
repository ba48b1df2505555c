/**
 * SQL: rows of a tenant (every tenant when $1 is null: operators' lists) older than the `after`
 * cursor (same created_at: smaller id), newest first. $1 = tenant id or null, $2 = after id or
 * null, $3 = limit + 1; `extraWhere` may use $4 on.
 */
export function pageSql(table: string, columns: string, extraWhere = ''): string {
  return `SELECT ${columns} FROM ${table} t
     WHERE ($1::uuid IS NULL OR t.tenant_id = $1) ${extraWhere}
       AND ($2::varchar IS NULL OR (t.created_at, t.id) <
            (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = $2 AND ($1::uuid IS NULL OR c.tenant_id = $1)))
     ORDER BY t.created_at DESC, t.id DESC
     LIMIT $3`;
}
