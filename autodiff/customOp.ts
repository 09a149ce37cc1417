/**
 * Custom primitives in JAX's custom_vjp shape: a forward that returns outputs and residuals, and a VJP that
 * maps output cotangents (undefined where an output is unused) to one cotangent per input. One
 * implementation per backend; where the data lives decides which runs (as in PyTorch): any input on the
 * GPU selects the webgpu implementation, host inputs the cpu one.
 */
import { type Node, Tensor } from "./tensor.js";

/** Backend names an op may implement. */
export type BackendName = "cpu" | "webgpu";

/** One backend's implementation of a custom op. */
export interface OpImplementation<R> {
  forward(inputs: readonly Tensor[]): { outputs: Tensor[]; residuals: R };
  vjp(
    residuals: R,
    cotangents: readonly (Tensor | undefined)[],
    inputs: readonly Tensor[],
  ): (Tensor | undefined)[];
}

/** A custom op definition. */
export interface OpDefinition<R> {
  name: string;
  implementations: { cpu: OpImplementation<R> } & Partial<Record<BackendName, OpImplementation<R>>>;
}

/**
 * Defines a custom primitive and returns the function that applies it. Outputs are recorded in the graph
 * when any input is traced; each output's node calls the VJP with its own cotangent.
 */
export function defineOp<R>(definition: OpDefinition<R>): (inputs: readonly Tensor[]) => Tensor[] {
  return (inputs) => {
    const onDevice = inputs.some((t) => t.onDevice);
    const impl = onDevice ? definition.implementations.webgpu : definition.implementations.cpu;
    if (!impl) {
      throw new RangeError(
        `${definition.name} has no webgpu implementation: read its GPU inputs back with \`await t.read()\``,
      );
    }
    const { outputs, residuals } = impl.forward(inputs);
    if (!inputs.some((t) => t.traced)) return outputs;
    return outputs.map((out, k) => {
      const node: Node = {
        op: definition.name,
        inputs,
        vjp: (g) => {
          const cotangents = outputs.map((_, j) => (j === k ? g : undefined));
          return impl.vjp(residuals, cotangents, inputs);
        },
      };
      return new Tensor(out.backing, out.shape, node);
    });
  };
}
