export * from "./admin-ops";
export * from "./bucket";
export * from "./config";
export * from "./credentials";
export * from "./gateway";
export * from "./storage";
