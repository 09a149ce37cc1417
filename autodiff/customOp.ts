/**
 * Custom primitives in JAX's custom_vjp shape: a forward that returns outputs and residuals, and a VJP that
 * maps output cotangents (undefined where an output is unused) to one cotangent per input. One
 * implementation per backend; the active backend's is used, with cpu as the fallback.
 */
import type { Node, Tensor } from "./tensor.js";

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

let activeBackend: BackendName = "cpu";

/** Selects the backend whose implementations custom ops use. */
export function setOpBackend(name: BackendName): void {
  activeBackend = name;
}

/** The backend custom ops currently use. */
export function opBackend(): BackendName {
  return activeBackend;
}

/**
 * Defines a custom primitive and returns the function that applies it. Outputs are recorded in the graph
 * when any input is traced; each output's node calls the VJP with its own cotangent.
 */
export function defineOp<R>(definition: OpDefinition<R>): (inputs: readonly Tensor[]) => Tensor[] {
  return (inputs) => {
    const impl = definition.implementations[activeBackend] ?? definition.implementations.cpu;
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
      return rewrap(out, node);
    });
  };
}

/** The same values with a graph node attached. */
function rewrap(t: Tensor, node: Node): Tensor {
  const Ctor = t.constructor as new (
    values: Tensor["values"],
    shape: readonly number[],
    node?: Node,
  ) => Tensor;
  return new Ctor(t.values, t.shape, node);
}
