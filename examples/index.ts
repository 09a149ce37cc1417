/** examples/: small runnable programs using the public API. */
export {};
