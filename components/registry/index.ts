export * from "./config-file";
export * from "./endpoints";
export * from "./layout";
export * from "./registry";
