/** cli/: the `thb` command-line program and its subcommands. */
export { buildProgram, main } from "./thb.js";
