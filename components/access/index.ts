export * from "./access";
export * from "./config";
export * from "./ingress";
export * from "./localhost-proxy";
export * from "./nginx-conf";
export * from "./node-trust";
export * from "./pull-secrets";
export * from "./mirror";
