import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** ?limit=&offset= query parameters of every list endpoint. */
export class PaginationQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}

export interface Page<T> {
  object: 'list';
  data: T[];
  total: number;
  limit: number;
  offset: number;
  has_more: boolean;
}

export function page<T>(data: T[], total: number, limit: number, offset: number): Page<T> {
  return { object: 'list', data, total, limit, offset, has_more: offset + data.length < total };
}

export const DEFAULT_PAGE_LIMIT = 20;
