export * from "./config";
export * from "./config-file";
export * from "./endpoints";
export * from "./foreign-layers";
export * from "./layout";
export * from "./registry";
