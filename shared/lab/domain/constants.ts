/**
 * Names the lab's code and its infrastructure share (no runtime dependencies, so the CDK app can
 * import them).
 */

/** The event that hands an accepted (202) experiment to the runner function. */
export const EXPERIMENT_REQUESTED = {
  source: 'shop.consistency',
  detailType: 'ConsistencyExperimentRequested',
} as const;

/** Prefix of every lab product id: the only catalog keys the lab may touch (an IAM condition says so). */
export const LAB_PRODUCT_PREFIX = 'lab-';
