/** A stored file as OpenAI's File object describes it. */
export interface FileRow {
  id: string;
  purpose: string;
  filename: string;
  bytes: number;
  created_at: Date;
  expires_at: Date | null;
}

export const FILE_COLUMNS = 't.id, t.purpose, t.filename, t.bytes, t.created_at, t.expires_at';

export function fileObject(row: FileRow) {
  return {
    id: row.id,
    object: 'file' as const,
    bytes: Number(row.bytes),
    created_at: Math.floor(new Date(row.created_at).getTime() / 1000),
    expires_at: row.expires_at === null ? null : Math.floor(new Date(row.expires_at).getTime() / 1000),
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed',
    status_details: null,
  };
}
