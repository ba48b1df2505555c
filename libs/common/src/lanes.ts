/** Priority lanes of the inference path (OpenAI's service_tier maps onto them). */
export type Lane = 'interactive' | 'standard' | 'batch';

export const LANES: readonly Lane[] = ['interactive', 'standard', 'batch'];

export function isLane(value: unknown): value is Lane {
  return typeof value === 'string' && (LANES as readonly string[]).includes(value);
}

/** OpenAI service_tier → lane: priority → interactive, default/auto/absent → standard, flex → batch. */
export function laneForServiceTier(tier: string | null | undefined): Lane | null {
  switch (tier ?? 'default') {
    case 'priority':
      return 'interactive';
    case 'default':
    case 'auto':
      return 'standard';
    case 'flex':
      return 'batch';
    default:
      return null;
  }
}

/** The service_tier reported back to clients for a lane. */
export function serviceTierForLane(lane: Lane): 'priority' | 'default' | 'flex' {
  return lane === 'interactive' ? 'priority' : lane === 'batch' ? 'flex' : 'default';
}
