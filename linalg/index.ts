/** linalg/: sparse matrices, envelope Cholesky with reverse Cuthill–McKee, conjugate gradients, Gauss–Legendre. */
export * from "./conjugateGradient.js";
export * from "./envelopeCholesky.js";
export * from "./errors.js";
export * from "./gaussLegendre.js";
export * from "./sparseMatrix.js";
