export * from "./cluster";
export * from "./registry";
export * from "./security";
export * from "./storage";
