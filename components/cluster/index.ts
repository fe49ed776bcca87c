export * from "./config";
export * from "./labels";
export * from "./load-balancer";
export * from "./namespace";
export * from "./service";
export * from "./security-context";
export * from "./nginx";
