// Passwords and bcrypt hashes as random.RandomPassword computes them (terraform-provider-random).
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";

// ---- Passwords -------------------------------------------------------------------------------

/** random.RandomPassword / RandomString character rules (the provider's defaults applied by the caller). */
export interface RandomStringParams {
    readonly length: number;
    readonly upper: boolean;
    readonly lower: boolean;
    readonly numeric: boolean;
    readonly special: boolean;
    readonly minUpper: number;
    readonly minLower: number;
    readonly minNumeric: number;
    readonly minSpecial: number;
    /** Replaces the special characters when non-empty. */
    readonly overrideSpecial?: string;
}

export const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/**
 * The provider's CreateString: each minimum drawn from its class (whether or not the class is
 * enabled, as in the provider), the rest from the enabled classes, then shuffled; crypto-random.
 */
export function randomString(p: RandomStringParams): string {
    const special = p.overrideSpecial !== undefined && p.overrideSpecial !== "" ? p.overrideSpecial : DEFAULT_SPECIAL;
    const classes = { upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", lower: "abcdefghijklmnopqrstuvwxyz", numeric: "0123456789", special };
    const draw = (set: string, n: number): string[] => {
        if (n > 0 && set.length === 0) {
            throw new Error("no characters to draw from: enable at least one of upper, lower, numeric or special");
        }
        return Array.from({ length: Math.max(0, n) }, () => set[crypto.randomInt(set.length)]);
    };
    const chars = [
        ...draw(classes.numeric, p.minNumeric),
        ...draw(classes.lower, p.minLower),
        ...draw(classes.upper, p.minUpper),
        ...draw(classes.special, p.minSpecial),
    ];
    const all = (["upper", "lower", "numeric", "special"] as const)
        .filter((k) => p[k])
        .map((k) => classes[k])
        .join("");
    chars.push(...draw(all, p.length - chars.length));
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

/**
 * bcrypt as the provider computes `bcryptHash`: golang.org/x/crypto/bcrypt at its default cost
 * (10), "$2a$" prefix, over the first 72 bytes.
 */
export function bcryptHash(password: string): string {
    const bytes = Buffer.from(password, "utf8");
    const input = bytes.length > 72 ? bytes.subarray(0, 72).toString("utf8") : password;
    return bcrypt.hashSync(input, bcrypt.genSaltSync(10).replace(/^\$2b\$/, "$2a$"));
}
