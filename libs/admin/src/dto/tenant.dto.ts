import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { TENANT_STATUSES, type TenantStatus } from '@app/tenants';
import { CleanName } from './clean-name';

export class CreateTenantDto {
  @ApiProperty({ example: 'acme', maxLength: 200 })
  @CleanName()
  name: string;

  @ApiPropertyOptional({ enum: TENANT_STATUSES, default: 'active' })
  @IsOptional()
  @IsIn(TENANT_STATUSES)
  status?: TenantStatus;
}

export class UpdateTenantDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @CleanName()
  name?: string;

  @ApiPropertyOptional({ enum: TENANT_STATUSES })
  @IsOptional()
  @IsIn(TENANT_STATUSES)
  status?: TenantStatus;
}
