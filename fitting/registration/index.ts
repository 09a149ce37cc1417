/** fitting/registration/: deformable image registration with adaptive THB displacement fields. */
export * from "./bendingEnergy.js";
export * from "./initialAlignment.js";
export * from "./levelLoss.js";
export * from "./marking.js";
export * from "./pyramid.js";
export * from "./registerImages.js";
