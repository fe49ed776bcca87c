export * from "./auth";
export * from "./htpasswd";
export * from "./tls";
