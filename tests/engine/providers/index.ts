// The stand-in provider plugins as executables the Pulumi CLI finds on PATH.
//
// The engine looks a plugin up as `pulumi-resource-<name>` on PATH before its plugin cache (it
// warns "using pulumi-resource-<name> from $PATH"), so a directory holding these wrappers, put
// first on PATH, makes it run the stand-ins for the tls and random packages. Each wrapper execs
// node with ts-node in transpile-only mode (no type check, so startup stays around a second).
import * as fs from "fs";
import * as path from "path";

/** The repository, for absolute paths in the wrappers. */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The stand-in plugins: executable name → TypeScript file. */
export const STAND_IN_PLUGINS: Readonly<Record<string, string>> = {
    "pulumi-resource-tls": path.join(__dirname, "tls.ts"),
    "pulumi-resource-random": path.join(__dirname, "random.ts"),
};

/** A POSIX shell word. */
function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes executable `pulumi-resource-tls` and `pulumi-resource-random` into `binDir` (created if
 * missing); put `binDir` first on the CLI's PATH. Paths inside are absolute, so the wrappers work
 * from whatever directory the engine starts plugins in.
 */
export function installStandInProviders(binDir: string): void {
    fs.mkdirSync(binDir, { recursive: true });
    const register = path.join(REPO_ROOT, "node_modules", "ts-node", "register", "transpile-only");
    for (const [name, file] of Object.entries(STAND_IN_PLUGINS)) {
        const script = [
            "#!/bin/sh",
            `# Stand-in ${name} for tests under the real engine: see ${path.relative(REPO_ROOT, file)}.`,
            `TS_NODE_PROJECT=${shellQuote(path.join(REPO_ROOT, "tsconfig.json"))} exec ${shellQuote(process.execPath)} -r ${shellQuote(register)} ${shellQuote(file)} "$@"`,
            "",
        ].join("\n");
        fs.writeFileSync(path.join(binDir, name), script, { mode: 0o755 });
    }
}
