import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError, Clock, CLOCK } from '@app/common';
import { Actor, AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../db-errors';
import { ApiKey } from '../entities/api-key.entity';
import { Tenant } from '../entities/tenant.entity';
import { generateApiKey } from './key-format';
import { KeyVerifier } from './key-verifier';

export interface NewKeyInput {
  name: string;
  scopes?: string[];
  expiresAt?: Date | null;
}

export interface IssuedKey {
  apiKey: ApiKey;
  /** The full secret key: returned once, never stored. */
  key: string;
}

/** Issue, list, revoke and rotate API keys; mutations are audited in the same transaction. */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly verifier: KeyVerifier,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async create(actor: Actor, tenantId: string, input: NewKeyInput): Promise<IssuedKey> {
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now()) {
      throw ApiError.badRequest('expires_at must be in the future.', 'expires_at');
    }
    return this.dataSource.transaction(async (m) => {
      await this.tenantOr404(m, tenantId);
      const issued = await this.insertKey(m, tenantId, input, null);
      await this.audit.record(
        actor,
        {
          action: 'key.create',
          targetType: 'api_key',
          targetId: issued.apiKey.id,
          tenantId,
          details: { name: input.name, prefix: issued.apiKey.prefix, scopes: issued.apiKey.scopes },
        },
        m,
      );
      return issued;
    });
  }

  async list(tenantId: string, limit: number, offset: number): Promise<[ApiKey[], number]> {
    await this.tenantOr404(this.dataSource.manager, tenantId);
    return this.dataSource.getRepository(ApiKey).findAndCount({
      where: { tenantId },
      order: { createdAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  async get(tenantId: string, keyId: string): Promise<ApiKey> {
    const key = await this.dataSource.getRepository(ApiKey).findOneBy({ id: keyId, tenantId });
    if (!key)
      throw ApiError.notFound(`API key ${keyId} not found in tenant ${tenantId}.`, 'key_not_found', 'key_id');
    return key;
  }

  async revoke(actor: Actor, tenantId: string, keyId: string): Promise<ApiKey> {
    const key = await this.dataSource.transaction(async (m) => {
      const current = await this.lockKey(m, tenantId, keyId);
      if (!current.revokedAt) current.revokedAt = new Date(this.clock.now());
      const saved = await m.save(current);
      await this.audit.record(
        actor,
        {
          action: 'key.revoke',
          targetType: 'api_key',
          targetId: keyId,
          tenantId,
          details: { prefix: saved.prefix },
        },
        m,
      );
      return saved;
    });
    this.verifier.invalidatePrefix(key.prefix);
    return key;
  }

  /**
   * Issues a replacement key (same name, scopes, expiry) and keeps the old one valid
   * until `graceUntil` (never longer than it was valid anyway).
   */
  async rotate(
    actor: Actor,
    tenantId: string,
    keyId: string,
    graceUntil: Date,
  ): Promise<IssuedKey & { old: ApiKey }> {
    const now = this.clock.now();
    const result = await this.dataSource.transaction(async (m) => {
      const old = await this.lockKey(m, tenantId, keyId);
      if (old.revokedAt || (old.expiresAt && old.expiresAt.getTime() <= now)) {
        throw ApiError.conflict('Only an active key can be rotated.', 'key_id', 'key_not_active');
      }
      const issued = await this.insertKey(
        m,
        tenantId,
        { name: old.name, scopes: old.scopes, expiresAt: old.expiresAt },
        old.id,
      );
      if (!old.expiresAt || graceUntil.getTime() < old.expiresAt.getTime()) old.expiresAt = graceUntil;
      const savedOld = await m.save(old);
      await this.audit.record(
        actor,
        {
          action: 'key.rotate',
          targetType: 'api_key',
          targetId: old.id,
          tenantId,
          details: {
            old_prefix: old.prefix,
            new_key_id: issued.apiKey.id,
            new_prefix: issued.apiKey.prefix,
            old_valid_until: savedOld.expiresAt,
          },
        },
        m,
      );
      return { ...issued, old: savedOld };
    });
    this.verifier.invalidatePrefix(result.old.prefix);
    return result;
  }

  private async tenantOr404(m: EntityManager, tenantId: string): Promise<Tenant> {
    const tenant = await m.findOneBy(Tenant, { id: tenantId });
    if (!tenant) throw ApiError.notFound(`Tenant ${tenantId} not found.`, 'tenant_not_found', 'tenant_id');
    return tenant;
  }

  private async lockKey(m: EntityManager, tenantId: string, keyId: string): Promise<ApiKey> {
    const key = await m.findOne(ApiKey, {
      where: { id: keyId, tenantId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!key)
      throw ApiError.notFound(`API key ${keyId} not found in tenant ${tenantId}.`, 'key_not_found', 'key_id');
    return key;
  }

  private async insertKey(
    m: EntityManager,
    tenantId: string,
    input: NewKeyInput,
    rotatedFromId: string | null,
  ): Promise<IssuedKey> {
    for (let attempt = 0; ; attempt++) {
      const generated = generateApiKey();
      try {
        // A savepoint keeps the transaction usable if the (astronomically unlikely) prefix collides.
        const apiKey = await m.transaction(async (inner) =>
          inner.save(
            inner.create(ApiKey, {
              tenantId,
              prefix: generated.prefix,
              secretHash: generated.secretHash,
              name: input.name,
              scopes: input.scopes ?? [],
              expiresAt: input.expiresAt ?? null,
              revokedAt: null,
              lastUsedAt: null,
              rotatedFromId,
            }),
          ),
        );
        this.verifier.invalidatePrefix(generated.prefix);
        return { apiKey, key: generated.key };
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err, 'api_keys_prefix_key')) continue;
        throw err;
      }
    }
  }
}
