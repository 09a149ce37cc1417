/**
 * Compressed sparse row matrices: `rowStart  #rows+1`, `columns` and `values` of length nnz,
 * entries of row r at rowStart[r] … rowStart[r+1]-1 with increasing columns.
 */
import { ArgumentError } from "./errors.js";

/** A CSR sparse matrix of f64 values. */
export class SparseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly rowStart: Int32Array;
  readonly columns: Int32Array;
  readonly values: Float64Array;

  constructor(rows: number, cols: number, rowStart: Int32Array, columns: Int32Array, values: Float64Array) {
    this.rows = rows;
    this.cols = cols;
    this.rowStart = rowStart;
    this.columns = columns;
    this.values = values;
  }

  /** Number of stored entries. */
  get nonZeros(): number {
    return this.rowStart[this.rows];
  }

  /** Entry (r, c), zero when not stored. */
  get(r: number, c: number): number {
    for (let k = this.rowStart[r]; k < this.rowStart[r + 1]; k++)
      if (this.columns[k] === c) return this.values[k];
    return 0;
  }

  /** out = A · x for `x  #cols by dim`, `out  #rows by dim` (out must not alias x). */
  multiply(x: ArrayLike<number>, dim: number, out = new Float64Array(this.rows * dim)): Float64Array {
    if (x.length !== this.cols * dim) {
      throw new ArgumentError(`x must hold ${this.cols} rows × ${dim}, got length ${x.length}`);
    }
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < dim; c++) out[r * dim + c] = 0;
      for (let k = this.rowStart[r]; k < this.rowStart[r + 1]; k++) {
        const a = this.values[k];
        const row = this.columns[k] * dim;
        for (let c = 0; c < dim; c++) out[r * dim + c] += a * x[row + c];
      }
    }
    return out;
  }

  /** out = Aᵀ · y for `y  #rows by dim`, `out  #cols by dim`. */
  multiplyTransposed(
    y: ArrayLike<number>,
    dim: number,
    out = new Float64Array(this.cols * dim),
  ): Float64Array {
    if (y.length !== this.rows * dim) {
      throw new ArgumentError(`y must hold ${this.rows} rows × ${dim}, got length ${y.length}`);
    }
    out.fill(0, 0, this.cols * dim);
    for (let r = 0; r < this.rows; r++) {
      for (let k = this.rowStart[r]; k < this.rowStart[r + 1]; k++) {
        const a = this.values[k];
        const col = this.columns[k] * dim;
        for (let c = 0; c < dim; c++) out[col + c] += a * y[r * dim + c];
      }
    }
    return out;
  }

  /** Dense row-major copy, for tests and small problems. */
  toDense(): Float64Array {
    const dense = new Float64Array(this.rows * this.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let k = this.rowStart[r]; k < this.rowStart[r + 1]; k++)
        dense[r * this.cols + this.columns[k]] = this.values[k];
    }
    return dense;
  }

  /** Builds a CSR matrix from per-row (column, value) lists; zeros are dropped. */
  static fromRows(
    cols: number,
    rowEntries: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
  ): SparseMatrix {
    const rows = rowEntries.length;
    const rowStart = new Int32Array(rows + 1);
    const columns: number[] = [];
    const values: number[] = [];
    for (let r = 0; r < rows; r++) {
      const sorted = rowEntries[r].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
      for (const [c, v] of sorted) {
        columns.push(c);
        values.push(v);
      }
      rowStart[r + 1] = columns.length;
    }
    return new SparseMatrix(rows, cols, rowStart, Int32Array.from(columns), Float64Array.from(values));
  }

  /** Builds a CSR matrix from (row, column, value) triplets, summing duplicates. */
  static fromTriplets(
    rows: number,
    cols: number,
    rowIndex: ArrayLike<number>,
    colIndex: ArrayLike<number>,
    values: ArrayLike<number>,
  ): SparseMatrix {
    const count = values.length;
    const order = new Int32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((a, b) => rowIndex[a] - rowIndex[b] || colIndex[a] - colIndex[b]);
    const rowStart = new Int32Array(rows + 1);
    const columns: number[] = [];
    const merged: number[] = [];
    let lastRow = -1;
    let lastCol = -1;
    for (const i of order) {
      const r = rowIndex[i];
      const c = colIndex[i];
      if (r === lastRow && c === lastCol) merged[merged.length - 1] += values[i];
      else {
        columns.push(c);
        merged.push(values[i]);
        rowStart[r + 1]++;
        lastRow = r;
        lastCol = c;
      }
    }
    for (let r = 0; r < rows; r++) rowStart[r + 1] += rowStart[r];
    return new SparseMatrix(rows, cols, rowStart, Int32Array.from(columns), Float64Array.from(merged));
  }
}
