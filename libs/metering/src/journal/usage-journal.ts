import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { fsync as fsyncCb, close as closeCb } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UsageJournalEntry } from '../usage-event';

const fsync = promisify(fsyncCb);
const close = promisify(closeCb);

/** `usage-<host>-<pid>-<startMs>-<seq>.{active,closed}.jsonl` */
const SEGMENT = /^usage-(.+)-(\d+)-(\d+)-(\d+)\.(active|closed)\.jsonl$/;

function safeHost(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9_.]/g, '_')
      .slice(0, 64) || 'host'
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface JournalSegment {
  path: string;
  name: string;
}

/**
 * Write-ahead journal of usage events: every event is appended (one JSON line, write(2) on an
 * O_APPEND descriptor, so it survives a kill -9 of the process) before it is buffered; segments
 * are fsynced and closed on each flush and deleted only after Postgres has the events. Segments
 * left behind (database down, crash) are replayed later; replays are idempotent because events
 * are keyed by request id.
 */
export class UsageJournal {
  private fd: number | null = null;
  private activePath = '';
  private activeBytes = 0;
  private seq = 0;
  private readonly host = safeHost();
  private readonly startedAt = Date.now();

  constructor(readonly dir: string) {}

  open(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.openSegment();
  }

  private openSegment(): void {
    this.seq += 1;
    const name = `usage-${this.host}-${process.pid}-${this.startedAt}-${String(this.seq).padStart(8, '0')}`;
    this.activePath = join(this.dir, `${name}.active.jsonl`);
    this.fd = openSync(this.activePath, 'a', 0o600);
    this.activeBytes = 0;
  }

  /** Appends one entry (synchronously: it is in the OS before record() returns). */
  append(record: UsageJournalEntry): void {
    this.appendLines(UsageJournal.line(record));
  }

  /** Appends entries already made into lines (line()), in one write(2). */
  appendLines(lines: string): void {
    if (this.fd === null) throw new Error('usage journal is not open');
    writeSync(this.fd, lines);
    this.activeBytes += lines.length;
  }

  static line(entry: UsageJournalEntry): string {
    return JSON.stringify(entry) + '\n';
  }

  /**
   * Closes the active segment (fsync, rename to .closed) and opens a new one. Returns the
   * closed segment, or null when the active one was empty.
   */
  async rotate(): Promise<JournalSegment | null> {
    if (this.fd === null || this.activeBytes === 0) return null;
    const fd = this.fd;
    const path = this.activePath;
    this.openSegment();
    await fsync(fd);
    await close(fd);
    const closedPath = path.replace(/\.active\.jsonl$/, '.closed.jsonl');
    renameSync(path, closedPath);
    this.syncDir();
    return { path: closedPath, name: closedPath.slice(this.dir.length + 1) };
  }

  private syncDir(): void {
    try {
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      /* directory fsync is best effort (not supported everywhere) */
    }
  }

  /**
   * Segments waiting to be written to Postgres, oldest first: closed segments of this host's
   * processes that are no longer running or this one, and active segments of dead processes.
   */
  pending(): JournalSegment[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: { name: string; key: string }[] = [];
    for (const name of names) {
      const m = SEGMENT.exec(name);
      if (!m || m[1] !== this.host) continue;
      const pid = Number(m[2]);
      const mine = pid === process.pid && Number(m[3]) === this.startedAt;
      if (mine) {
        if (m[5] === 'active') continue;
      } else if (processAlive(pid) && pid !== process.pid) {
        continue; // another live replica's journal: it replays its own
      }
      out.push({ name, key: `${m[3].padStart(15, '0')}-${m[4]}` });
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.map(({ name }) => ({ name, path: join(this.dir, name) }));
  }

  /** The process (host, pid, start time) that wrote a segment. */
  owner(segment: JournalSegment): string {
    const m = SEGMENT.exec(segment.name);
    return m ? `${m[1]}-${m[2]}-${m[3]}` : segment.name;
  }

  /** Whether this process (this run of it) wrote the segment. */
  isMine(segment: JournalSegment): boolean {
    return this.owner(segment) === `${this.host}-${process.pid}-${this.startedAt}`;
  }

  /** Entries of a segment; a torn last line (crash mid-write) or garbage is skipped. */
  read(segment: JournalSegment): { events: UsageJournalEntry[]; skipped: number } {
    let text: string;
    try {
      text = readFileSync(segment.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], skipped: 0 };
      throw err;
    }
    const events: UsageJournalEntry[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as UsageJournalEntry;
        if (e && typeof e.requestId === 'string' && typeof e.tenantId === 'string') events.push(e);
        else skipped += 1;
      } catch {
        skipped += 1;
      }
    }
    return { events, skipped };
  }

  remove(segment: JournalSegment): void {
    try {
      unlinkSync(segment.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Closes the active segment (kept on disk when not empty; removed when empty). */
  async close(): Promise<JournalSegment | null> {
    const segment = await this.rotate();
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await close(fd);
      try {
        unlinkSync(this.activePath);
      } catch {
        /* already gone */
      }
    }
    return segment;
  }
}
