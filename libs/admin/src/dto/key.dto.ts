import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsISO8601, IsOptional, Matches, Max, Min } from 'class-validator';
import { CleanName } from './clean-name';

export class CreateKeyDto {
  @ApiProperty({ example: 'production', maxLength: 200 })
  @CleanName()
  name: string;

  @ApiPropertyOptional({ type: [String], example: ['inference'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(/^[a-z0-9_.:-]{1,64}$/, { each: true, message: 'each scope must match [a-z0-9_.:-]{1,64}' })
  scopes?: string[];

  @ApiPropertyOptional({ example: '2030-01-01T00:00:00Z', description: 'ISO 8601; omit for no expiry' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires_at?: string;
}

export class RotateKeyDto {
  @ApiPropertyOptional({
    description: 'How long the old key stays valid after rotation (seconds, default 86400)',
    default: 86400,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30 * 86400)
  grace_period_seconds?: number;
}
