// Validates Kubernetes objects against the Kubernetes OpenAPI schema, with two maintained packages:
// - kubernetes-models: JSON-schema validators generated from the OpenAPI spec (types, enums,
//   required fields, formats);
// - @kubernetes/client-node: the official client's models, whose attribute maps list every
//   field of every type, to refuse unknown (misspelled or misplaced) fields the way
//   `kubectl apply --validate=strict` does. The OpenAPI schema itself allows unknown fields,
//   so the first package alone would accept `imagePullPolicyy`.
import * as k8sClient from "@kubernetes/client-node";

type AttributeMap = { name: string; baseName: string; type: string }[];
type ModelClass = { getAttributeTypeMap(): AttributeMap };
type ValidatableModel = new (data: unknown) => { validate(): void };

const PRIMITIVES = new Set(["string", "number", "boolean", "Date", "object", "any", "IntOrString"]);

function modelClass(type: string): ModelClass | undefined {
    const c = (k8sClient as unknown as Record<string, unknown>)[type];
    return typeof c === "function" && typeof (c as unknown as Partial<ModelClass>).getAttributeTypeMap === "function"
        ? (c as unknown as ModelClass)
        : undefined;
}

/** Unknown fields in `value` of client-node model `type`, as JSON paths. */
export function unknownFields(value: unknown, type: string, path = ""): string[] {
    if (value === undefined || value === null || PRIMITIVES.has(type)) {
        return [];
    }
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr !== null) {
        return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, arr[1], `${path}[${i}]`)) : [];
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map !== null) {
        return typeof value === "object" ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`)) : [];
    }
    const cls = modelClass(type);
    if (cls === undefined || typeof value !== "object") {
        return [];
    }
    const attrs = cls.getAttributeTypeMap();
    return Object.entries(value).flatMap(([k, v]) => {
        const attr = attrs.find((a) => a.baseName === k);
        return attr === undefined ? [`${path}.${k}`] : unknownFields(v, attr.type, `${path}.${k}`);
    });
}

/** client-node's model name for an apiVersion/kind: "apps/v1" + "Deployment" → "V1Deployment". */
function clientModelName(apiVersion: string, kind: string): string {
    const version = apiVersion.split("/").pop() ?? apiVersion;
    return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** CRD kinds validated by their kubernetes-models package (schema of the CRD), by API group. */
const CRD_MODELS: Record<string, string> = {
    "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

function loadValidator(apiVersion: string, kind: string): ValidatableModel {
    const crdPackage = CRD_MODELS[apiVersion.split("/")[0]];
    if (crdPackage !== undefined) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const crd = (require(`${crdPackage}/${apiVersion}`) as Record<string, ValidatableModel | undefined>)[kind];
        if (crd === undefined) {
            throw new Error(`${crdPackage} has no ${apiVersion} ${kind}`);
        }
        return crd;
    }
    // kubernetes-models lays out one module per kind: "apps/v1/Deployment", "v1/ConfigMap".
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, ValidatableModel>;
    const cls = mod[kind];
    if (cls === undefined) {
        throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
    }
    return cls;
}

/**
 * Problems with a Kubernetes object (empty when valid). Throws for kinds the schema does not
 * know, so a typo in `kind` cannot pass unchecked.
 */
export function validateObject(obj: { apiVersion?: string; kind?: string } & Record<string, unknown>): string[] {
    const { apiVersion, kind } = obj;
    if (apiVersion === undefined || kind === undefined) {
        return ["apiVersion and kind are required"];
    }
    const problems: string[] = [];
    const Model = loadValidator(apiVersion, kind);
    try {
        new Model(obj).validate();
    } catch (e) {
        problems.push((e as Error).message);
    }
    if (CRD_MODELS[apiVersion.split("/")[0]] !== undefined) {
        // The official client has no models for CRDs, and the CRD schemas allow unknown fields;
        // the CRD's own schema (types, enums, patterns, required fields) is what is checked.
        return problems;
    }
    const clientModel = clientModelName(apiVersion, kind);
    if (modelClass(clientModel) === undefined) {
        throw new Error(`@kubernetes/client-node has no model ${clientModel} for ${apiVersion} ${kind}`);
    }
    problems.push(...unknownFields(obj, clientModel).map((p) => `unknown field ${p.slice(1)}`));
    return problems;
}
