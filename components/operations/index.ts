export * from "./config";
export * from "./gc";
export * from "./monitoring";
export * from "./pull-through";
export * from "./redis";
export * from "./scheduling";
