export * from "./reader";
export * from "./rules";
export * from "./validators";
