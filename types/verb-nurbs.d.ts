/** verb-nurbs ships no types; tests and benchmarks use it through `any`. */
declare module "verb-nurbs" {
  // biome-ignore lint/suspicious/noExplicitAny: untyped peer library
  const verb: any;
  export default verb;
}
