export * from "./access";
export * from "./storage/ceph";
export * from "./cluster";
export * from "./dns";
export * from "./registry";
export * from "./security";
export * from "./storage";
export * from "./operations";
