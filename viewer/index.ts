/** viewer/: the interactive Three.js refinement viewer (the only place that imports three). */
export {};
