// Temporary directories of unit tests, removed when the test process exits (passed or failed).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];

process.on("exit", () => {
    for (const dir of made.splice(0)) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** A new directory under the system's temp dir, `<prefix>-XXXXXX`, gone when the process exits. */
export function scratchDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    made.push(dir);
    return dir;
}
