/** hierarchy/: THB spaces — levels, domains, active functions, truncation, refinement, compile() to a flat plan. */
export {};
