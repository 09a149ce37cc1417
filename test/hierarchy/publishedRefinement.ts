/**
 * An independent, deliberately plain implementation of REFINE_RECURSIVE (Bracco, Giannelli & Vázquez 2018,
 * "Refinement algorithms for adaptive isogeometric methods with hierarchical splines", Algorithms 3.1/3.3),
 * for tests. It shares no code with hierarchy/: cells are strings in per-level sets, geometry comes from the
 * level-0 knot vectors halved by hand, and neighbourhoods are found by comparing parametric boxes.
 *
 *   N_T(Q, m) = active cells of level ℓ−m+1 meeting S(Q, ℓ−m+2)   (THB)
 *   N_H(Q, m) = active cells of level ℓ−m+1 meeting S(Q, ℓ−m+1)   (HB)
 *   S(Q, k)   = union of the supports of the level-k B-splines non-zero on Q
 *   refine(Q): for each Q' in N(Q, m) (computed once) still active: refine(Q'); then mark Q refined.
 */

/** A hierarchical mesh as plain data: refined[l] holds "i,j[,k]" of refined level-l cells. */
export interface PlainMesh {
  degrees: number[];
  /** Level-0 open knot vectors, one per direction. */
  knots: number[][];
  truncated: boolean;
  refined: Set<string>[];
}

const levelKnotsMemo = new WeakMap<readonly number[], number[][]>();

/** Level-k knot vector: every non-empty span of the level-0 vector halved k times (memoised). */
export function levelKnots(knots0: readonly number[], k: number): number[] {
  let memo = levelKnotsMemo.get(knots0);
  if (!memo) {
    memo = [];
    levelKnotsMemo.set(knots0, memo);
  }
  memo[k] ??= halved(knots0, k);
  return memo[k];
}

function halved(knots0: readonly number[], k: number): number[] {
  let U = knots0.slice();
  for (let step = 0; step < k; step++) {
    const next: number[] = [];
    for (let i = 0; i < U.length; i++) {
      next.push(U[i]);
      if (i + 1 < U.length && U[i + 1] > U[i]) next.push((U[i] + U[i + 1]) / 2);
    }
    U = next;
  }
  return U;
}

/** Distinct breakpoints of a knot vector. */
function breaks(U: readonly number[]): number[] {
  return U.filter((u, i) => i === 0 || u > U[i - 1]);
}

export function cellName(cell: readonly number[]): string {
  return cell.join(",");
}

function parent(cell: readonly number[]): number[] {
  return cell.map((c) => c >> 1);
}

export function isActive(mesh: PlainMesh, level: number, cell: readonly number[]): boolean {
  if (mesh.refined[level].has(cellName(cell))) return false;
  return level === 0 || mesh.refined[level - 1].has(cellName(parent(cell)));
}

/** Parametric box [lo, hi] per direction of a level-l cell. */
function cellBox(mesh: PlainMesh, level: number, cell: readonly number[]): [number, number][] {
  return cell.map((c, dir) => {
    const b = breaks(levelKnots(mesh.knots[dir], level));
    return [b[c], b[c + 1]];
  });
}

/** S(Q, k) as a parametric box per direction. */
function supportExtension(
  mesh: PlainMesh,
  level: number,
  cell: readonly number[],
  k: number,
): [number, number][] {
  return cellBox(mesh, level, cell).map(([a, b], dir) => {
    const U = levelKnots(mesh.knots[dir], k);
    const p = mesh.degrees[dir];
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i + p + 1 < U.length; i++) {
      // B-spline i of level k is non-zero on the open cell (a, b) when its support overlaps it
      if (U[i] < b && U[i + p + 1] > a) {
        lo = Math.min(lo, U[i]);
        hi = Math.max(hi, U[i + p + 1]);
      }
    }
    return [lo, hi];
  });
}

/** Active cells of level t whose open box meets the open box `region`, direction 0 varying fastest. */
function activeCellsMeeting(mesh: PlainMesh, t: number, region: [number, number][]): number[][] {
  const ranges = region.map(([lo, hi], dir) => {
    const b = breaks(levelKnots(mesh.knots[dir], t));
    const cells: number[] = [];
    for (let c = 0; c + 1 < b.length; c++) if (b[c] < hi && b[c + 1] > lo) cells.push(c);
    return cells;
  });
  const out: number[][] = [];
  const walk = (dir: number, cell: number[]): void => {
    if (dir < 0) {
      if (isActive(mesh, t, cell)) out.push(cell.slice());
      return;
    }
    for (const c of ranges[dir]) {
      cell[dir] = c;
      walk(dir - 1, cell);
    }
  };
  walk(ranges.length - 1, new Array(ranges.length).fill(0));
  return out;
}

/** REFINE_RECURSIVE(Q) on the mesh, in place. */
export function publishedRefine(mesh: PlainMesh, level: number, cell: readonly number[], m: number): void {
  const t = level - m + 1;
  if (Number.isFinite(m) && t >= 0) {
    const k = mesh.truncated ? t + 1 : t;
    const neighbourhood = activeCellsMeeting(mesh, t, supportExtension(mesh, level, cell, k));
    for (const q of neighbourhood) if (isActive(mesh, t, q)) publishedRefine(mesh, t, q, m);
  }
  mesh.refined[level].add(cellName(cell));
}

/** Active cells of the mesh, as [level, cell] pairs. */
export function activeCells(mesh: PlainMesh): [number, number[]][] {
  const out: [number, number[]][] = [];
  const d = mesh.degrees.length;
  const counts = mesh.knots.map((U) => breaks(U).length - 1);
  const walk = (dir: number, cell: number[]): void => {
    if (dir < 0) {
      if (isActive(mesh, 0, cell)) out.push([0, cell.slice()]);
      return;
    }
    for (let c = 0; c < counts[dir]; c++) {
      cell[dir] = c;
      walk(dir - 1, cell);
    }
  };
  walk(d - 1, new Array(d).fill(0));
  for (let l = 0; l + 1 < mesh.refined.length; l++) {
    for (const name of mesh.refined[l]) {
      const c = name.split(",").map(Number);
      for (let bits = 0; bits < 1 << d; bits++) {
        const child = c.map((x, dir) => 2 * x + ((bits >> dir) & 1));
        if (isActive(mesh, l + 1, child)) out.push([l + 1, child]);
      }
    }
  }
  return out;
}
