export * from "./auth";
export * from "./config";
export * from "./htpasswd";
export * from "./tls";
