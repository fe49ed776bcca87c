export * from "./labels";
export * from "./namespace";
export * from "./service";
export * from "./security-context";
export * from "./nginx";
