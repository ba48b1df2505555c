import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditLog } from '../entities/audit-log.entity';

/** Who performs an admin action (from the admin JWT), and the request it came with. */
export interface Actor {
  sub: string;
  role: string;
  requestId?: string;
}

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  tenantId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenantId?: string;
  action?: string;
  limit: number;
  offset: number;
}

@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes one audit row, inside the caller's transaction when a manager is given. */
  async record(
    actor: Actor,
    entry: AuditEntry,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    const row: QueryDeepPartialEntity<AuditLog> = {
      actor: actor.sub,
      actorRole: actor.role,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      tenantId: entry.tenantId ?? null,
      details: entry.details ?? {},
      requestId: actor.requestId ?? null,
    } as QueryDeepPartialEntity<AuditLog>;
    await manager.insert(AuditLog, row);
  }

  async list(query: AuditQuery): Promise<[AuditLog[], number]> {
    const where: FindOptionsWhere<AuditLog> = {};
    if (query.tenantId) where.tenantId = query.tenantId;
    if (query.action) where.action = query.action;
    return this.dataSource.getRepository(AuditLog).findAndCount({
      where,
      order: { id: 'DESC' },
      take: query.limit,
      skip: query.offset,
    });
  }
}
