import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { ApiError } from '@app/common';
import { Actor, AuditService } from './audit/audit.service';
import { isUniqueViolation } from './db-errors';
import { Tenant, TenantStatus } from './entities/tenant.entity';
import { KeyVerifier } from './keys/key-verifier';

export interface TenantChanges {
  name?: string;
  status?: TenantStatus;
}

function duplicateName(name: string) {
  return ApiError.conflict(`A tenant named "${name}" already exists.`, 'name', 'tenant_exists');
}

/** Tenant CRUD; every mutation writes an audit row in the same transaction. */
@Injectable()
export class TenantsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly keys: KeyVerifier,
  ) {}

  async create(actor: Actor, input: { name: string; status?: TenantStatus }): Promise<Tenant> {
    try {
      return await this.dataSource.transaction(async (m) => {
        const tenant = await m.save(m.create(Tenant, { name: input.name, status: input.status ?? 'active' }));
        await this.audit.record(
          actor,
          {
            action: 'tenant.create',
            targetType: 'tenant',
            targetId: tenant.id,
            tenantId: tenant.id,
            details: { name: tenant.name, status: tenant.status },
          },
          m,
        );
        return tenant;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(input.name);
      throw err;
    }
  }

  async list(options: { limit: number; offset: number; onlyIds?: string[] }): Promise<[Tenant[], number]> {
    return this.dataSource.getRepository(Tenant).findAndCount({
      where: options.onlyIds ? { id: In(options.onlyIds) } : {},
      order: { createdAt: 'ASC', id: 'ASC' },
      take: options.limit,
      skip: options.offset,
    });
  }

  async get(id: string): Promise<Tenant> {
    const tenant = await this.dataSource.getRepository(Tenant).findOneBy({ id });
    if (!tenant) throw ApiError.notFound(`Tenant ${id} not found.`, 'tenant_not_found', 'tenant_id');
    return tenant;
  }

  async update(actor: Actor, id: string, changes: TenantChanges, action = 'tenant.update'): Promise<Tenant> {
    try {
      const tenant = await this.dataSource.transaction(async (m) => {
        const current = await m.findOne(Tenant, { where: { id }, lock: { mode: 'pessimistic_write' } });
        if (!current) throw ApiError.notFound(`Tenant ${id} not found.`, 'tenant_not_found', 'tenant_id');
        const before = { name: current.name, status: current.status };
        if (changes.name !== undefined) current.name = changes.name;
        if (changes.status !== undefined) current.status = changes.status;
        const saved = await m.save(current);
        await this.audit.record(
          actor,
          {
            action,
            targetType: 'tenant',
            targetId: id,
            tenantId: id,
            details: { before, after: { name: saved.name, status: saved.status } },
          },
          m,
        );
        return saved;
      });
      this.keys.invalidateTenant(id);
      return tenant;
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(changes.name ?? '');
      throw err;
    }
  }

  setStatus(actor: Actor, id: string, status: TenantStatus): Promise<Tenant> {
    return this.update(actor, id, { status }, status === 'suspended' ? 'tenant.suspend' : 'tenant.activate');
  }

  async delete(actor: Actor, id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const tenant = await m.findOneBy(Tenant, { id });
      if (!tenant) throw ApiError.notFound(`Tenant ${id} not found.`, 'tenant_not_found', 'tenant_id');
      await m.delete(Tenant, { id });
      await this.audit.record(
        actor,
        {
          action: 'tenant.delete',
          targetType: 'tenant',
          targetId: id,
          tenantId: id,
          details: { name: tenant.name },
        },
        m,
      );
    });
    this.keys.invalidateTenant(id);
  }
}
