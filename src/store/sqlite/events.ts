/**
 * @module store/sqlite/events
 * The append-only timeline.
 */
import type { HostEvent, NewEvent } from '../../model/event';
import type { EventQuery, EventRepo } from '../store';
import { newEvent } from '../rows';
import type { Db, GroupCommitter } from './database';

interface EventRow {
  id: number;
  ts: string;
  host: string | null;
  mac: string | null;
  kind: string;
  level: string;
  message: string;
  data: string;
}

export class SqliteEvents implements EventRepo {
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.insert = db.prepare(
      'INSERT INTO events (ts, host, mac, kind, level, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  append(e: NewEvent): Promise<HostEvent> {
    const ev = newEvent(e);
    return this.writer.write(() => this.insertNow(ev));
  }

  /** Inserts `ev` in the caller's write (inside a GroupCommitter.write). */
  insertNow(ev: Omit<HostEvent, 'id'>): HostEvent {
    const r = this.insert.run(ev.ts, ev.host, ev.mac, ev.kind, ev.level, ev.message, JSON.stringify(ev.data));
    return { id: Number(r.lastInsertRowid), ...ev };
  }

  async list(q: EventQuery = {}): Promise<HostEvent[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.host !== undefined) {
      where.push('host = ?');
      args.push(q.host);
    }
    if (q.after !== undefined) {
      where.push('id > ?');
      args.push(q.after);
    }
    const limit = Math.min(Math.max(q.limit ?? 1000, 1), 10000);
    // Newest `limit` first, then flipped: a timeline reads oldest first.
    const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY id ${q.after !== undefined ? 'ASC' : 'DESC'} LIMIT ${limit}`;
    const rows = this.db.prepare(sql).all(...args) as EventRow[];
    if (q.after === undefined) rows.reverse();
    return rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      host: r.host,
      mac: r.mac,
      kind: r.kind,
      level: r.level as HostEvent['level'],
      message: r.message,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }
}
