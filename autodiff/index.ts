/** autodiff/: tensors, the reverse-mode tape, ops, custom primitives, gradcheck and optimisers. */
export * from "./api.js";
export * from "./customOp.js";
export * from "./grad.js";
export * from "./gradcheck.js";
export * from "./ops.js";
export * from "./optimize.js";
export * from "./tensor.js";
