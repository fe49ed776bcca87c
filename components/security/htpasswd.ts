// The htpasswd file and its bcrypt hashes: pure functions, and the rules for the hash cost.
//
// distribution checks the bcrypt hash of every request that carries credentials (a push is tens
// of requests), so the cost is paid per request, not per login. The work factor exists to slow
// offline guessing of low-entropy passwords; the program's passwords are generated, so a low cost
// is safe as long as they are long enough (MIN_LENGTH_BELOW_FULL_COST).
import * as bcrypt from "bcryptjs";

import type { Reader } from "../config/reader";

/**
 * The costs Go's golang.org/x/crypto/bcrypt accepts (MinCost..MaxCost); distribution verifies
 * with it and refuses a hash outside this range.
 */
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 31;

/** The provider's cost (Go's bcrypt.DefaultCost): from it up, the password length is not checked. */
export const FULL_BCRYPT_COST = 10;

/**
 * The shortest generated password a cost below FULL_BCRYPT_COST may protect: 22 letters and
 * digits carry 22 × log2(62) ≈ 131 bits, past the 128-bit strength asked of symmetric keys. At
 * that entropy guessing is hopeless at any cost (2^130 guesses at 10^12 a second take over
 * 10^19 years), so the work factor adds nothing; below it, the work factor is part of the protection.
 */
export const MIN_LENGTH_BELOW_FULL_COST = 22;

/** Bits of a generated password of `length` letters and digits. */
export function passwordBits(length: number): number {
    return length * Math.log2(62);
}

/** `$2a$`, `$2b$` or `$2y$`, the cost, the 22-character salt and the 31-character hash. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$/;

/**
 * The htpasswd hash of `password` at `cost`, salted with the salt of `saltFrom`, a bcrypt hash of
 * the same password kept in state (the random provider's `bcryptHash`): the same state gives the
 * same line on every evaluation, so the Secret and the pods stay as they are across `pulumi up`,
 * and a rotated password brings its own new salt. At the provider's cost the result is the
 * provider's hash itself. `$2a$` is what Go's bcrypt writes; both distribution lines read it.
 * bcrypt uses the first 72 bytes of a password, as the provider's hash does.
 */
export function htpasswdHash(password: string, saltFrom: string, cost: number): string {
    if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
        throw new Error(`bcrypt cost must be a whole number from ${BCRYPT_MIN_COST} to ${BCRYPT_MAX_COST}; got ${cost}`);
    }
    const m = BCRYPT_HASH.exec(saltFrom);
    if (m === null) {
        throw new Error("the password's bcryptHash from the random provider is not a bcrypt hash ($2a$NN$ + 53 characters); cannot take its salt");
    }
    return bcrypt.hashSync(password, `$2a$${String(cost).padStart(2, "0")}$${m[2]}`);
}

/** The cost of a bcrypt hash (the `NN` of `$2a$NN$`). */
export function bcryptCostOf(hash: string): number {
    const m = BCRYPT_HASH.exec(hash);
    if (m === null) {
        throw new Error("not a bcrypt hash");
    }
    return Number(m[1]);
}

/** The htpasswd file format: one `user:bcrypt-hash` line per user. */
export function buildHtpasswd(entries: readonly { user: string; hash: string }[]): string {
    return entries.map((e) => `${e.user}:${e.hash}\n`).join("");
}

/**
 * Reads `htpasswdBcryptCost` and refuses a cost below FULL_BCRYPT_COST for passwords shorter
 * than MIN_LENGTH_BELOW_FULL_COST. `passwordLength` is the parsed (valid) length.
 */
export function parseHtpasswdCost(r: Reader<"htpasswdBcryptCost">, passwordLength: number): number {
    const known = r.problems.length;
    const cost = r.integer("htpasswdBcryptCost", BCRYPT_MIN_COST, BCRYPT_MAX_COST);
    // An invalid cost is already reported; its stand-in default says nothing about the pair.
    const valid = r.problems.length === known;
    if (valid && cost < FULL_BCRYPT_COST && passwordLength < MIN_LENGTH_BELOW_FULL_COST) {
        r.problem(
            `\`htpasswdBcryptCost\` below ${FULL_BCRYPT_COST} needs \`passwordLength\` of at least ${MIN_LENGTH_BELOW_FULL_COST} ` +
                `(${MIN_LENGTH_BELOW_FULL_COST} letters and digits carry ${Math.round(passwordBits(MIN_LENGTH_BELOW_FULL_COST))} bits, beyond guessing at any cost); ` +
                `got \`htpasswdBcryptCost\` ${cost} with \`passwordLength\` ${passwordLength}. ` +
                `Raise \`passwordLength\`, or set \`htpasswdBcryptCost\` to ${FULL_BCRYPT_COST} or more`,
        );
    }
    return cost;
}
