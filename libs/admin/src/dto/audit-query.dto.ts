import { IsOptional, IsUUID, Matches } from 'class-validator';
import { PaginationQuery } from '@app/common';

export class AuditQueryDto extends PaginationQuery {
  @IsOptional()
  @IsUUID()
  tenant_id?: string;

  @IsOptional()
  @Matches(/^[a-z_.]{1,64}$/)
  action?: string;
}
