export * from "./auth";
export * from "./tls";
