/** Shared pieces of the registration tests: small images with geometry and refined displacement fields. */
import { createImage, type Image } from "../../fields/image.js";
import { THBField } from "../../fields/thbField.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { seededRandom } from "../helpers/random.js";

/** Smooth blobs: a sum of Gaussians (values 0 … ~200) on a 2D grid of `size`, evaluated at `at(i, j)`. */
export function blobs(x: number, y: number): number {
  const g = (cx: number, cy: number, s: number, a: number) =>
    a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s));
  return g(20, 24, 4, 150) + g(42, 36, 5, 120) + g(30, 46, 3, 90) + g(46, 14, 4, 110) + g(14, 48, 3, 100);
}

/** A 2D image of `f` sampled at the pixels of `size`. */
export function imageOf(size: [number, number], f: (x: number, y: number) => number): Image {
  const data = new Float64Array(size[0] * size[1]);
  for (let j = 0; j < size[1]; j++) for (let i = 0; i < size[0]; i++) data[i + size[0] * j] = f(i, j);
  return createImage(data, size);
}

/**
 * A random cubic displacement field (amplitude `amplitude` mm) over [0, e0] × [0, e1], with one element
 * refined so the space has two levels (THB truncation in play).
 */
export function randomField(extent: readonly number[], amplitude: number, seed = 7, elements = 4): THBField {
  const knots = extent.map((e) => uniformKnotVector(3, elements, 0, e));
  let space = THBSpace.create({ degrees: extent.map(() => 3), knots });
  space = refineElements(space, [{ level: 0, cell: extent.map(() => 1) }]);
  const rand = seededRandom(seed);
  const d = extent.length;
  const control = Float64Array.from({ length: space.size * d }, () => amplitude * (2 * rand() - 1));
  return new THBField(space, control, d);
}

/** A MetaImage file (text header + raw float32 data) of the given size and values. */
export function metaImage(size: number[], values: number[]): Uint8Array {
  const header = [
    "ObjectType = Image",
    `NDims = ${size.length}`,
    `DimSize = ${size.join(" ")}`,
    "ElementType = MET_FLOAT",
    "ElementDataFile = LOCAL",
  ].join("\n");
  const data = new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(header.length + 1 + data.length);
  out.set(new TextEncoder().encode(`${header}\n`));
  out.set(data, header.length + 1);
  return out;
}
