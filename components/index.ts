export * from "./access";
export * from "./ceph";
export * from "./cluster";
export * from "./dns";
export * from "./registry";
export * from "./security";
export * from "./storage";
export * from "./operations";
