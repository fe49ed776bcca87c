// The stand-in tls and random providers (tests/engine/providers/) called directly, as the engine
// calls them, for the providers-*.spec.ts files: the resource types, check, create and diff, and
// the diff results they expect.
import * as assert from "assert";
import * as provider from "@pulumi/pulumi/provider";

import { Props, reveal } from "./providers/common";
import { randomProvider } from "./providers/random";
import { tlsProvider } from "./providers/tls";

export const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
export const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
export const CERT_REQUEST = "tls:index/certRequest:CertRequest";
export const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
export const PASSWORD = "random:index/randomPassword:RandomPassword";

export const urn = (type: string, name = "r"): string => `urn:pulumi:test::standins::${type}::${name}`;

/** The provider for a token's package. */
const providerFor = (type: string): provider.Provider => (type.startsWith("tls:") ? tlsProvider : randomProvider);

export async function check(type: string, news: Props): Promise<{ inputs: Props; failures: provider.CheckFailure[] }> {
    const result = await providerFor(type).check?.(urn(type), {}, news);
    return { inputs: (result?.inputs ?? {}) as Props, failures: [...(result?.failures ?? [])] };
}

/** check, then create: the state the engine would store. */
export async function create(type: string, news: Props): Promise<{ id: string; state: Props; inputs: Props }> {
    const { inputs, failures } = await check(type, news);
    assert.deepStrictEqual(failures, []);
    const result = await providerFor(type).create?.(urn(type), inputs);
    assert.ok(result !== undefined);
    return { id: result.id, state: result.outs as Props, inputs };
}

/** diff of an old state against new inputs, after check as the engine runs it. */
export async function diff(type: string, state: Props, news: Props): Promise<provider.DiffResult> {
    const { inputs, failures } = await check(type, news);
    assert.deepStrictEqual(failures, []);
    const result = await providerFor(type).diff?.("id", urn(type), state, inputs);
    assert.ok(result !== undefined);
    return result;
}

export const isSecret = (v: unknown): boolean => reveal({ v }).secret.has("v");
export const plain = (v: unknown): unknown => reveal({ v }).values.v;

export const NO_CHANGES: provider.DiffResult = { changes: false, replaces: [], deleteBeforeReplace: false };
export const replaces = (...props: string[]): provider.DiffResult => ({ changes: true, replaces: props, deleteBeforeReplace: false });
export const UPDATE: provider.DiffResult = { changes: true, replaces: [], deleteBeforeReplace: false };
