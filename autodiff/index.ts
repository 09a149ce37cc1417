/** autodiff/: tensors, the reverse-mode tape, ops, custom primitives, gradcheck and optimisers. */
export {};
