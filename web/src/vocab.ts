// The words of DESIGN.md the dashboard filters and colours by.

export const KINDS = [
  'explosion', 'small_arms', 'heavy_mg', 'mortar', 'artillery', 'mlrs', 'drone', 'movement', 'other',
] as const;

export const STATUSES = ['reported', 'corroborated', 'verified', 'rejected', 'disputed'] as const;

// The statuses an analyst still has to decide on: what the review queue holds.
export const OPEN_STATUSES = ['reported', 'corroborated'] as const;

// What an analyst can decide, with the key that does it in the review queue.
export const DECISIONS = [
  { status: 'verified', key: 'v', label: 'Verify' },
  { status: 'rejected', key: 'x', label: 'Reject' },
  { status: 'disputed', key: 'd', label: 'Dispute' },
] as const;

export type ColorBy = 'kind' | 'party' | 'status';
export const COLOR_BYS: readonly ColorBy[] = ['kind', 'party', 'status'];

export const VIEWS = ['map', 'queue', 'report', 'mandate'] as const;
export type View = (typeof VIEWS)[number];
