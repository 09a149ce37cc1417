/**
 * Plain descriptions of hierarchical spline spaces and fields, as files hold them. They carry no
 * behaviour: hierarchy/serialization.ts turns them into spaces and back.
 */

/** A THB/HB space: level-0 tensor B-splines plus G+Smo boxes [level, lo…, hi…] applied in order. */
export interface HierarchyDescription {
  degree: number[];
  knots: number[][];
  truncated: boolean;
  boxes: number[][];
  maxLevels?: number;
}

/** A field: a space and its control coefficients, `#functions by dim`, in the space's global numbering. */
export interface FieldDescription extends HierarchyDescription {
  dim: number;
  control: number[];
}
